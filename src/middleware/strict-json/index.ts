export { strictJson, type StrictJsonOptions } from './strict-json'
