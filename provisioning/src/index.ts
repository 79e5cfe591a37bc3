export {
  AGENT_CONFIG_FILE,
  agentConfigFor,
  type BundleAgentConfig,
  type BundleFacts,
  bundleSecretFiles,
  DEVICE_PUBLIC_KEY_FILE,
  type SecretRefStyle,
} from './bundle.ts';
export { type CliIo, runCli } from './cli.ts';
export {
  type AddDeviceOptions,
  addDevice,
  brokerUsernameOf,
  type DeviceBundle,
  revokeDevice,
} from './device.ts';
export { ProvisionErrorCode } from './errors.ts';
export { ExportFileRegistrar, readRegistrationFile } from './registrars/export-file.ts';
export { type HubApiOptions, HubApiRegistrar } from './registrars/hub-api.ts';
export type { Registrar } from './registrars/registrar.ts';
export * from './registration.ts';
export { hashBrokerPassword } from './secrets.ts';
export {
  type InitSiteOptions,
  initSite,
  readSite,
  type Site,
  type SiteFile,
  siteFileSchema,
} from './site.ts';
