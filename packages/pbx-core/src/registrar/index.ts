export { extensionCredentials, Registrar, type RegistrarOptions } from './registrar.js';
