export { radiusAgent, configErrors } from './agent.js';
export { RadiusParams } from './params.js';
export { exchange, type Exchange, type Probe, type Answer } from './client.js';
export {
  Attr,
  Code,
  codeName,
  decodeResponse,
  encodeRequest,
  hidePassword,
  parseAttributes,
  type Attribute,
  type RequestSpec,
  type Response,
} from './packet.js';
