export { ExportDataset } from '../../nodes/ExportDataset/ExportDataset.node.ts'; // explicit: X.node.json beside it is the codex file
export { ListEligibleDatasets } from '../../nodes/ListEligibleDatasets/ListEligibleDatasets.node.ts'; // explicit: X.node.json beside it is the codex file
export { VerifyExport } from '../../nodes/VerifyExport/VerifyExport.node.ts'; // explicit: X.node.json beside it is the codex file
