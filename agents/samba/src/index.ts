export { sambaAgent } from './agent.js';
export { SambaParams } from './params.js';
export { overlayText } from './overlay.js';
export { diskShares, listingArgs, listingVerdict, type ListingTarget } from './listing.js';
