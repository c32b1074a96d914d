export { devSeed, type DevSeedOptions } from './dev-seed'
