import { transportContract } from './contract.js';
import { memoryPair, wsPair } from './helpers.js';

transportContract('WsTransport', wsPair);
transportContract('MemoryTransport', memoryPair);
