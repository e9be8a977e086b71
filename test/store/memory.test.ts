import { MemoryStore } from '../../src/store/memory-store.ts';
import { storeContract } from './contract.ts';

storeContract('in memory', () => new MemoryStore());
