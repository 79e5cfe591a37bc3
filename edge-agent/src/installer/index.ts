export * from './check-camera.ts';
export * from './config.ts';
export { buildInstaller, type CameraReport, type InstallerDeps, InstallerServer } from './server.ts';
