/**
 * The public surface of petrelmq: everything users import comes from here, and nothing else is
 * exported by accident.
 */
export { PetrelError, ERROR_CODES, isPetrelError } from './common/errors.js';
export type { ErrorCode, PetrelErrorData } from './common/errors.js';
