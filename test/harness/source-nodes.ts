export { ExportDataset } from '../../nodes/ExportDataset/ExportDataset.node';
export { ListEligibleDatasets } from '../../nodes/ListEligibleDatasets/ListEligibleDatasets.node';
export { VerifyExport } from '../../nodes/VerifyExport/VerifyExport.node';
