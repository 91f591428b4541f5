import { text, type Destination } from './types';

export const dataLandingZone: Destination = {
	value: 'dataLandingZone',
	name: 'Data Landing Zone',
	description: "Adobe's Data Landing Zone (container SAS URI)",
	credential: 'datasetExportDataLandingZoneApi',
	config: (credential) => ({ type: 'dataLandingZone', sasUrl: text(credential.sasUrl) }),
	test: { ok: () => 'The SAS URI opens its container' },
};
