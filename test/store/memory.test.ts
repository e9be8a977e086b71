import { MemoryStore } from '../../src/store/memory-store.ts';
import { changeStoreContract } from './change-contract.ts';
import { storeContract } from './contract.ts';

storeContract('in memory', () => new MemoryStore());
changeStoreContract('in memory', async (changeLimits) => new MemoryStore(changeLimits ? { changeLimits } : {}));
