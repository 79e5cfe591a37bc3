// Devices and cameras: each agent's state, last seen, backlog, roster seq applied, model pack and camera
// health; alerts (hash-chain gaps, revoked devices, sync lag...) to acknowledge, or resolved by the hub once
// settled; revocation.
import { useEffect, useState } from 'preact/hooks';
import { type AlertView, api, type DeviceView } from '../api.ts';
import { useSession } from '../app.tsx';
import { alertText } from '../messages.ts';
import { link, navigate } from '../route.ts';
import { ago, dateTime } from '../time.ts';
import {
  Badge,
  ConfirmDialog,
  Empty,
  ErrorNotice,
  Loading,
  Page,
  Section,
  SelectField,
  Table,
  TextField,
  useLoad,
} from '../ui.tsx';

const refreshMs = 10_000;

interface CameraHealth {
  id: string;
  state: 'ok' | 'starting' | 'reconnecting' | 'stalled' | 'failed';
  inputFps: number;
  analysedFps: number;
  droppedFrames: number;
  decodeErrors: number;
  reconnects: number;
  lastFrameAgeMs: number | null;
}

const cameraTone = {
  ok: 'ok',
  starting: 'info',
  reconnecting: 'warn',
  stalled: 'bad',
  failed: 'bad',
} as const;

function alertDetails(alert: AlertView): string {
  const d = alert.details;
  if (alert.kind === 'sequence_gap') {
    return d.missingFrom === d.missingTo
      ? `event #${String(d.missingFrom)} missing`
      : `events #${String(d.missingFrom)} to #${String(d.missingTo)} missing`;
  }
  if (alert.kind === 'camera_down' && Array.isArray(d.cameras)) {
    return (d.cameras as Array<{ id: string; state: string }>).map((c) => `${c.id} ${c.state}`).join(', ');
  }
  if (alert.kind === 'clock_skew') return `${String(d.aheadSeconds)} s ahead`;
  if (alert.kind === 'sync_lag' && typeof d.behindSince === 'number') {
    const what =
      d.reason === 'backlog'
        ? `${String(d.backlog)} events waiting in its outbox`
        : `roster #${String(d.rosterSeqApplied)} applied of #${String(d.siteRosterSeq)}`;
    return `${what} since ${dateTime(d.behindSince)}`;
  }
  if (typeof d.code === 'string') return d.code;
  return '';
}

export function DevicesPage(props: { query: URLSearchParams }) {
  const { sites, me, isAdmin } = useSession();
  const site = props.query.get('site') ?? '';
  const [showAcknowledged, setShowAcknowledged] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [revoking, setRevoking] = useState<DeviceView | undefined>(undefined);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [round, setRound] = useState(0);

  const data = useLoad(
    async (signal) => {
      const [devices, alerts] = await Promise.all([
        api.get<{ devices: DeviceView[] }>('/devices', { siteId: site || undefined }, signal),
        api.get<{ alerts: AlertView[] }>(
          '/alerts',
          { siteId: site || undefined, unacknowledged: !showAcknowledged, limit: 50 },
          signal,
        ),
      ]);
      return { devices: devices.devices, alerts: alerts.alerts };
    },
    [site, showAcknowledged, round],
  );
  useEffect(() => {
    const timer = setInterval(() => {
      setNow(Date.now());
      setRound((r) => r + 1);
    }, refreshMs);
    return () => clearInterval(timer);
  }, []);

  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await work();
      setRound((r) => r + 1);
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };
  const canAcknowledge = me.role !== 'viewer';
  const siteName = (id: string | null) => (id === null ? '—' : (sites.find((s) => s.id === id)?.name ?? id));
  const devices = data.data?.devices;
  const alerts = data.data?.alerts;

  return (
    <Page title="Devices and cameras">
      <form class="filters card" onSubmit={(e) => e.preventDefault()} aria-label="Device filters">
        <SelectField
          label="Site"
          value={site}
          onValue={(v) => navigate(link(['devices'], { site: v }), { replace: true })}
          options={[{ value: '', label: 'All sites' }, ...sites.map((s) => ({ value: s.id, label: s.name }))]}
        />
        <label class="check inline">
          <input
            type="checkbox"
            checked={showAcknowledged}
            onChange={(e) => setShowAcknowledged(e.currentTarget.checked)}
          />
          Show acknowledged and resolved alerts
        </label>
      </form>
      <ErrorNotice error={data.error ?? actionError} onRetry={() => setRound((r) => r + 1)} />
      <Section
        title={alerts ? `Alerts (${alerts.length}${alerts.length === 50 ? '+' : ''})` : 'Alerts'}
        id="alerts-title"
      >
        {!alerts ? (
          <Loading lines={2} label="Loading alerts" />
        ) : alerts.length === 0 ? (
          <Empty title="No open alerts">
            Gaps in a device's events, refused devices, sync lag and camera failures show up here.
          </Empty>
        ) : (
          <ul class="alerts">
            {alerts.map((a) => (
              <li key={a.id} class={a.acknowledgedAt === null && a.resolvedAt === null ? 'open' : 'done'}>
                <div>
                  <p class="alert-title">{alertText[a.kind] ?? a.kind}</p>
                  <p class="muted">
                    {a.deviceId ?? 'unknown device'} · {siteName(a.siteId)} ·{' '}
                    <time dateTime={new Date(a.createdAt).toISOString()} title={dateTime(a.createdAt)}>
                      {ago(a.createdAt, now)}
                    </time>
                    {alertDetails(a) && ` · ${alertDetails(a)}`}
                  </p>
                  {a.acknowledgedAt !== null && (
                    <p class="muted">
                      Acknowledged by {a.acknowledgedBy} {ago(a.acknowledgedAt, now)}
                    </p>
                  )}
                  {a.resolvedAt !== null && (
                    <p class="muted">
                      Resolved {ago(a.resolvedAt, now)}: {a.resolution}
                    </p>
                  )}
                </div>
                {canAcknowledge && a.acknowledgedAt === null && a.resolvedAt === null && (
                  <button
                    type="button"
                    class="secondary"
                    disabled={busy}
                    onClick={() => void act(() => api.post(`/alerts/${a.id}/acknowledge`))}
                  >
                    Acknowledge<span class="visually-hidden"> {alertText[a.kind] ?? a.kind}</span>
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title="Devices" id="devices-title">
        {!devices ? (
          <Loading lines={4} label="Loading devices" />
        ) : devices.length === 0 ? (
          <Empty title="No devices yet">
            Provision one with <code>truepresence-provision add-device</code> and start its agent; it appears
            here when it first connects.
          </Empty>
        ) : (
          <Table
            caption="Devices"
            rows={devices}
            rowKey={(d) => d.id}
            columns={[
              {
                label: 'Device',
                render: (d) => (
                  <>
                    <strong>{d.id}</strong>
                    <span class="muted"> · {siteName(d.siteId)}</span>
                  </>
                ),
              },
              {
                label: 'State',
                render: (d) =>
                  d.status === 'revoked' ? (
                    <Badge tone="bad">Revoked</Badge>
                  ) : d.online ? (
                    <Badge tone="ok">Online</Badge>
                  ) : (
                    <Badge tone="muted">Offline</Badge>
                  ),
              },
              {
                label: 'Last seen',
                render: (d) =>
                  d.lastSeenAt === null ? (
                    'never'
                  ) : (
                    <time dateTime={new Date(d.lastSeenAt).toISOString()} title={dateTime(d.lastSeenAt)}>
                      {ago(d.lastSeenAt, now)}
                    </time>
                  ),
              },
              { label: 'Backlog', numeric: true, render: (d) => d.backlog ?? '—' },
              {
                label: 'Roster',
                render: (d) =>
                  d.rosterSeqApplied === null ? (
                    '—'
                  ) : (
                    <>
                      #{d.rosterSeqApplied}{' '}
                      {d.rosterLag ? (
                        <Badge tone="warn">{d.rosterLag} behind</Badge>
                      ) : (
                        <Badge tone="ok">current</Badge>
                      )}
                    </>
                  ),
              },
              { label: 'Model pack', render: (d) => d.modelPack ?? '—' },
              { label: 'Cameras', render: (d) => <Cameras device={d} /> },
              ...(isAdmin
                ? [
                    {
                      label: 'Actions',
                      render: (d: DeviceView) =>
                        d.status === 'active' && (
                          <button type="button" class="link danger-text" onClick={() => setRevoking(d)}>
                            Revoke<span class="visually-hidden"> {d.id}</span>
                          </button>
                        ),
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Section>
      <ConfirmDialog
        open={revoking !== undefined}
        title={`Revoke ${revoking?.id ?? ''}?`}
        confirmLabel="Revoke device"
        danger
        busy={busy}
        onConfirm={() =>
          void act(async () => {
            await api.post(`/devices/${encodeURIComponent(revoking!.id)}/revoke`, { reason });
            setRevoking(undefined);
            setReason('');
          })
        }
        onCancel={() => setRevoking(undefined)}
      >
        <p>
          The hub will refuse its events and its broker login. A revoked device must be provisioned again to
          come back.
        </p>
        <TextField label="Reason (for the audit log)" value={reason} onValue={setReason} maxLength={500} />
      </ConfirmDialog>
    </Page>
  );
}

function Cameras(props: { device: DeviceView }) {
  const cameras = (props.device.statusDetails.cameras as CameraHealth[] | undefined) ?? [];
  if (cameras.length === 0) return <span class="muted">no report</span>;
  return (
    <ul class="cameras">
      {cameras.map((c) => (
        <li key={c.id}>
          <span class="camera-id">{c.id}</span> <Badge tone={cameraTone[c.state]}>{c.state}</Badge>
          <span class="muted camera-figures">
            {c.inputFps.toFixed(0)} fps in · {c.analysedFps.toFixed(1)} analysed · {c.droppedFrames} dropped ·{' '}
            {c.decodeErrors} decode errors · {c.reconnects} reconnects
            {c.lastFrameAgeMs !== null && ` · last frame ${Math.round(c.lastFrameAgeMs)} ms ago`}
          </span>
        </li>
      ))}
    </ul>
  );
}
