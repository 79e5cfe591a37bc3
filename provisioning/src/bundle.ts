// A device bundle: the folder an installer copies onto one edge device. Every file is mode 0600 in a 0700
// folder. agent.json holds no secret: it names the secret files, either as systemd credentials (the
// default, matching LoadCredential= in systemd/truepresence-agent.service) or as file paths.
import { join } from 'node:path';
import type { SecretRef } from '@truepresence/protocol';
import type { HubKey } from './registration.ts';

/** Secret files of a bundle. Their names double as systemd credential names. */
export const bundleSecretFiles = {
  deviceKey: 'device.key',
  brokerPassword: 'broker.password',
  cacheKey: 'cache.key',
  siteKey: 'site.key',
} as const;
export const AGENT_CONFIG_FILE = 'agent.json';
export const DEVICE_PUBLIC_KEY_FILE = 'device.pub';
export const BUNDLE_README_FILE = 'README.md';

export type SecretRefStyle = 'credential' | 'file';

export interface BundleFacts {
  site: string;
  siteName: string;
  device: string;
  profile: string;
  brokerUrl: string;
  brokerUsername: string;
  rosterKeyId: string;
  hubKey: HubKey;
  /** Public half of the device key, base64url. */
  publicKey: string;
  secretRefs: SecretRefStyle;
  /** Where the secret files will be when secretRefs is "file". */
  installDir: string;
  createdAt: string;
}

/** The keys of the agent config that provisioning fills in; the installer adds "cameras". */
export interface BundleAgentConfig {
  site: string;
  device: string;
  profile: string;
  keys: {
    device: SecretRef;
    cache: SecretRef;
    siteKeys: Array<{ id: string; key: SecretRef }>;
    hubKeys: Array<{ id: string; publicKey: string }>;
  };
  link: { url: string; username: string; password: SecretRef };
  cameras: [];
}

export function agentConfigFor(facts: BundleFacts): BundleAgentConfig {
  const ref = (file: string): SecretRef =>
    facts.secretRefs === 'credential' ? { credential: file } : { file: join(facts.installDir, file) };
  return {
    site: facts.site,
    device: facts.device,
    profile: facts.profile,
    keys: {
      device: ref(bundleSecretFiles.deviceKey),
      cache: ref(bundleSecretFiles.cacheKey),
      siteKeys: [{ id: facts.rosterKeyId, key: ref(bundleSecretFiles.siteKey) }],
      hubKeys: [{ id: facts.hubKey.keyId, publicKey: facts.hubKey.publicKey }],
    },
    link: {
      url: facts.brokerUrl,
      username: facts.brokerUsername,
      password: ref(bundleSecretFiles.brokerPassword),
    },
    cameras: [],
  };
}

export function bundleReadme(facts: BundleFacts): string {
  const files = bundleSecretFiles;
  const secretList = Object.values(files).join(' ');
  const target = facts.secretRefs === 'credential' ? '/etc/truepresence/agent' : facts.installDir;
  const runInPlace =
    facts.secretRefs === 'credential'
      ? `CREDENTIALS_DIRECTORY="$PWD" node --import tsx /opt/truepresence/edge-agent/src/main.ts --config "$PWD/${AGENT_CONFIG_FILE}"`
      : `node --import tsx /opt/truepresence/edge-agent/src/main.ts --config ${join(facts.installDir, AGENT_CONFIG_FILE)}`;
  return `# TruePresence device bundle: ${facts.site}/${facts.device}

Made by \`truepresence-provision add-device\` on ${facts.createdAt} for site "${facts.siteName}" (\`${facts.site}\`),
device \`${facts.device}\`, device profile \`${facts.profile}\`. The hub knows this device by its public key and a
hash of its broker password; the secrets below exist only in this folder.

| file | what |
|---|---|
| \`${AGENT_CONFIG_FILE}\` | agent config: site, device, profile, broker, keys by reference (no secret inside); add your cameras |
| \`${files.deviceKey}\` | Ed25519 private key that signs this device's events (PKCS#8 PEM) |
| \`${files.brokerPassword}\` | MQTT password of user \`${facts.brokerUsername}\` at ${facts.brokerUrl} |
| \`${files.cacheKey}\` | 32-byte key (base64url) encrypting the vector cache and the outbox at rest |
| \`${files.siteKey}\` | site roster key \`${facts.rosterKeyId}\` (32 bytes, base64url) that opens roster changes |
| \`${DEVICE_PUBLIC_KEY_FILE}\` | public half of the device key, as registered with the hub |

Every file is mode 0600: carry the bundle on an encrypted medium or over SSH, never by e-mail or chat.

## Install on the device (systemd)

The agent's secret references are ${
    facts.secretRefs === 'credential'
      ? `systemd credentials: \`systemd/truepresence-agent.service\` loads each file with
\`LoadCredential=NAME:/etc/truepresence/agent/NAME\`, so they stay readable by root only.`
      : `file paths under \`${facts.installDir}\`: install the files there, readable only by the user the agent runs as.`
  }

\`\`\`sh
sudo install -d -m 0700 ${target}
sudo install -m 0600 ${AGENT_CONFIG_FILE} ${secretList} ${DEVICE_PUBLIC_KEY_FILE} ${target}/
sudoedit ${target}/${AGENT_CONFIG_FILE}      # add "cameras"
sudo systemctl enable --now truepresence-agent
\`\`\`

\`systemd/README.md\` describes the TruePresence install itself (/opt/truepresence, the service user, drop-ins
for accelerators). Once the agent runs, delete this bundle everywhere else (\`shred -u\` on each file).

## Run in place (tests, demos)

\`\`\`sh
${runInPlace}
\`\`\`

## If the device is lost or replaced

\`truepresence-provision revoke-device --site ${facts.site} --device ${facts.device} --hub URL --token-file PATH\`:
the hub then refuses its events and its broker login. Provision the replacement under a new device id.
`;
}
