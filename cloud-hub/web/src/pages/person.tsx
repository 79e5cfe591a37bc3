// One person: enrolment photos with immediate feedback (the aligned face, or why the photo was refused),
// templates, details, consent records, and erasure with its confirmation by every device.
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  type ConsentView,
  type EnrolResult,
  type EraseResult,
  type ErasureStatus,
  type LegalBasis,
  type PersonDetail,
  type PersonView,
} from '../api.ts';
import { useSession } from '../app.tsx';
import { explain, legalBasisText } from '../messages.ts';
import { useRoute } from '../route.ts';
import { dateTime } from '../time.ts';
import {
  Badge,
  Checkboxes,
  ConfirmDialog,
  Empty,
  ErrorNotice,
  Loading,
  Notice,
  Page,
  Section,
  SelectField,
  Table,
  TextArea,
  TextField,
  useLoad,
} from '../ui.tsx';
import { legalBasisOptions, splitList } from './people.tsx';

const photoTypes = ['image/jpeg', 'image/png', 'image/webp'];

export function PersonPage(props: { id: string }) {
  const { canEditPeople } = useSession();
  const route = useRoute();
  const person = useLoad(
    (signal) => api.get<PersonDetail>(`/people/${encodeURIComponent(props.id)}`, {}, signal),
    [props.id],
  );
  const p = person.data;
  if (!p) {
    return (
      <Page title="Person">
        {person.error ? <ErrorNotice error={person.error} onRetry={person.reload} /> : <Loading lines={8} />}
      </Page>
    );
  }
  const erased = p.erasedAt !== null;
  const canEdit = canEditPeople && !erased;
  return (
    <Page title={p.displayName} actions={<a href="#/people">All people</a>}>
      {erased && (
        <Notice kind="warn">
          Erased on {dateTime(p.erasedAt!)}. Templates and photos are deleted; attendance records remain.
        </Notice>
      )}
      {route.query.get('added') && !erased && (
        <Notice kind="ok">
          {p.templates.length === 0
            ? 'Person added. Now upload a photo so that the cameras recognise them.'
            : 'Person added and enrolled. The cameras recognise them once their devices have the roster change.'}
        </Notice>
      )}
      <ErrorNotice error={person.error} />
      <div class="person-grid">
        {!erased && <Photos person={p} canEdit={canEdit} onChange={person.reload} />}
        <Details person={p} canEdit={canEdit} onSaved={person.reload} />
        <Consents person={p} canEdit={canEdit} onChange={person.reload} />
        {(canEditPeople || erased) && <Erasure person={p} canEdit={canEdit} onErased={person.reload} />}
      </div>
    </Page>
  );
}

interface Upload {
  key: number;
  name: string;
  preview: string;
  state: 'sending' | 'accepted' | 'refused';
  result?: EnrolResult;
  error?: unknown;
}

function qualityLine(q: Record<string, number>): string {
  const parts: string[] = [];
  if (q.faceSizePx !== undefined) parts.push(`face ${Math.round(q.faceSizePx)} px`);
  if (q.sharpness !== undefined) parts.push(`sharpness ${Math.round(q.sharpness)}`);
  if (q.brightness !== undefined) parts.push(`brightness ${Math.round(q.brightness)}/255`);
  if (q.yawDeg !== undefined) parts.push(`turned ${Math.abs(Math.round(q.yawDeg))}°`);
  return parts.join(' · ');
}

function Photos(props: { person: PersonDetail; canEdit: boolean; onChange: () => void }) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [dragging, setDragging] = useState(false);
  const [removeError, setRemoveError] = useState<unknown>(undefined);
  const counter = useRef(0);
  const queue = useRef(Promise.resolve());
  const previews = useRef<string[]>([]);
  const p = props.person;

  useEffect(
    () => () => {
      for (const url of previews.current) URL.revokeObjectURL(url);
    },
    [],
  );

  const update = (key: number, patch: Partial<Upload>) =>
    setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...patch } : u)));

  // One photo at a time: enrolment runs the face models on the hub.
  const send = (files: readonly File[]) => {
    for (const file of files) {
      const key = ++counter.current;
      const preview = URL.createObjectURL(file);
      previews.current.push(preview);
      setUploads((list) => [{ key, name: file.name, preview, state: 'sending' }, ...list]);
      queue.current = queue.current.then(async () => {
        try {
          if (!photoTypes.includes(file.type)) {
            throw new Error(`${file.name} is not a JPEG, PNG or WebP photo`);
          }
          const result = await api.upload<EnrolResult>(`/people/${encodeURIComponent(p.id)}/photos`, file);
          update(key, { state: 'accepted', result });
          props.onChange();
        } catch (error) {
          update(key, { state: 'refused', error });
        }
      });
    }
  };

  const remove = async (templateId: string) => {
    setRemoveError(undefined);
    try {
      await api.delete(`/people/${encodeURIComponent(p.id)}/templates/${encodeURIComponent(templateId)}`);
      props.onChange();
    } catch (e) {
      setRemoveError(e);
    }
  };

  const hasConsent = p.consents.some((c) => c.withdrawnAt === null);
  return (
    <Section title="Photos and face templates" id="photos-title">
      {props.canEdit &&
        (!hasConsent ? (
          <Notice kind="warn">Record a consent or legal basis below before uploading photos.</Notice>
        ) : p.siteIds.length === 0 ? (
          <Notice kind="warn">Give the person a site below before uploading photos.</Notice>
        ) : (
          <label
            class={`dropzone${dragging ? ' dragging' : ''}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(e) => {
              e.preventDefault();
              setDragging(false);
              send([...(e.dataTransfer?.files ?? [])]);
            }}
          >
            <span class="button primary">Upload photos</span>
            <input
              id="photo-input"
              class="visually-hidden"
              type="file"
              accept={photoTypes.join(',')}
              multiple
              onChange={(e) => {
                send([...(e.currentTarget.files ?? [])]);
                e.currentTarget.value = '';
              }}
            />
            <span class="hint">
              or drop them here. One face per photo, facing the camera, in good light; JPEG, PNG or WebP.
            </span>
          </label>
        ))}
      {uploads.length > 0 && (
        <ul class="uploads" aria-live="polite">
          {uploads.map((u) => (
            <UploadResult key={u.key} upload={u} />
          ))}
        </ul>
      )}
      <h3>Templates</h3>
      <ErrorNotice error={removeError} />
      {p.templates.length === 0 ? (
        <Empty title="No face template yet">
          {props.canEdit
            ? 'Upload a clear photo of the person: the cameras recognise them once a template exists.'
            : 'The cameras do not recognise this person yet.'}
        </Empty>
      ) : (
        <Table
          caption="Face templates"
          rows={p.templates}
          rowKey={(t) => t.id}
          columns={[
            { label: 'Added', render: (t) => dateTime(t.createdAt) },
            { label: 'Model pack', render: (t) => t.modelPack },
            {
              label: 'Detector score',
              numeric: true,
              render: (t) => (t.quality === null ? '—' : t.quality.toFixed(2)),
            },
            ...(props.canEdit
              ? [
                  {
                    label: 'Remove',
                    render: (t: PersonDetail['templates'][number]) => (
                      <button type="button" class="link danger-text" onClick={() => void remove(t.id)}>
                        Remove<span class="visually-hidden"> template of {dateTime(t.createdAt)}</span>
                      </button>
                    ),
                  },
                ]
              : []),
          ]}
        />
      )}
    </Section>
  );
}

function UploadResult(props: { upload: Upload }) {
  const u = props.upload;
  if (u.state === 'sending') {
    return (
      <li class="upload">
        <img src={u.preview} alt="" width={112} height={112} />
        <div>
          <p class="upload-title">{u.name}</p>
          <p class="muted">Checking the photo…</p>
        </div>
      </li>
    );
  }
  if (u.state === 'accepted' && u.result) {
    return (
      <li class="upload ok">
        <img src={u.result.alignedFace} alt={`Aligned face from ${u.name}`} width={112} height={112} />
        <div>
          <p class="upload-title">
            <Badge tone="ok">Accepted</Badge> {u.name}
          </p>
          <p>This aligned face is what the cameras will compare with.</p>
          <p class="muted">{qualityLine(u.result.face.quality)}</p>
        </div>
      </li>
    );
  }
  const { title, advice } = explain(u.error);
  return (
    <li class="upload refused" role="alert">
      <img src={u.preview} alt={`Refused: ${u.name}`} width={112} height={112} />
      <div>
        <p class="upload-title">
          <Badge tone="bad">Refused</Badge> {u.name}
        </p>
        <p>
          <strong>{title}.</strong> {advice}
        </p>
      </div>
    </li>
  );
}

function Details(props: { person: PersonView; canEdit: boolean; onSaved: () => void }) {
  const { sites, site } = useSession();
  const p = props.person;
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(p.displayName);
  const [externalId, setExternalId] = useState(p.externalId ?? '');
  const [groups, setGroups] = useState(p.groups.join(', '));
  const [siteIds, setSiteIds] = useState<string[]>(p.siteIds);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const startEditing = () => {
    setName(p.displayName);
    setExternalId(p.externalId ?? '');
    setGroups(p.groups.join(', '));
    setSiteIds(p.siteIds);
    setError(undefined);
    setEditing(true);
  };
  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.patch(`/people/${encodeURIComponent(p.id)}`, {
        displayName: name,
        externalId: externalId.trim() || null,
        groups: splitList(groups),
        siteIds,
      });
      setEditing(false);
      props.onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const siteName = (id: string) => site(id)?.name ?? id;
  return (
    <Section
      title="Details"
      id="details-title"
      actions={
        props.canEdit &&
        !editing && (
          <button type="button" class="secondary" onClick={startEditing}>
            Edit
          </button>
        )
      }
    >
      {editing ? (
        <form class="form" onSubmit={save}>
          <ErrorNotice error={error} />
          <TextField label="Name" value={name} onValue={setName} required maxLength={200} />
          <TextField label="External id" value={externalId} onValue={setExternalId} maxLength={100} />
          <TextField label="Groups" hint="Comma separated." value={groups} onValue={setGroups} />
          <Checkboxes
            legend="Sites"
            hint="Removing a site erases the person's templates from its devices."
            options={sites.map((s) => ({ value: s.id, label: s.name }))}
            selected={siteIds}
            onChange={setSiteIds}
          />
          <div class="form-actions">
            <button type="button" class="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
          </div>
        </form>
      ) : (
        <dl class="details">
          <dt>External id</dt>
          <dd>{p.externalId ?? '—'}</dd>
          <dt>Groups</dt>
          <dd>{p.groups.join(', ') || '—'}</dd>
          <dt>Sites</dt>
          <dd>{p.siteIds.map(siteName).join(', ') || '—'}</dd>
          <dt>Person id</dt>
          <dd>
            <code>{p.id}</code>
          </dd>
          <dt>Added</dt>
          <dd>{dateTime(p.createdAt)}</dd>
        </dl>
      )}
    </Section>
  );
}

function Consents(props: { person: PersonDetail; canEdit: boolean; onChange: () => void }) {
  const p = props.person;
  const [adding, setAdding] = useState(false);
  const [basis, setBasis] = useState<LegalBasis>('consent');
  const [notice, setNotice] = useState('');
  const [noticeText, setNoticeText] = useState('');
  const [withdrawing, setWithdrawing] = useState<ConsentView | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const active = p.consents.filter((c) => c.withdrawnAt === null);

  const record = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/people/${encodeURIComponent(p.id)}/consents`, {
        legalBasis: basis,
        noticeVersion: notice.trim(),
        noticeText: noticeText.trim() || null,
      });
      setAdding(false);
      setNotice('');
      setNoticeText('');
      props.onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const withdraw = async () => {
    if (!withdrawing) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.post(
        `/people/${encodeURIComponent(p.id)}/consents/${encodeURIComponent(withdrawing.id)}/withdraw`,
      );
      setWithdrawing(undefined);
      props.onChange();
    } catch (e) {
      setError(e);
      setWithdrawing(undefined);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section
      title="Consent and legal basis"
      id="consent-title"
      actions={
        props.canEdit &&
        !adding && (
          <button type="button" class="secondary" onClick={() => setAdding(true)}>
            Record
          </button>
        )
      }
    >
      <ErrorNotice error={error} />
      {adding && (
        <form class="form" onSubmit={record}>
          <SelectField
            label="Legal basis"
            value={basis}
            onValue={(v) => setBasis(v as LegalBasis)}
            options={legalBasisOptions}
          />
          <TextField
            label="Privacy notice version"
            value={notice}
            onValue={setNotice}
            required
            maxLength={100}
          />
          <TextArea label="Notice text (optional)" value={noticeText} onValue={setNoticeText} />
          <div class="form-actions">
            <button type="button" class="secondary" onClick={() => setAdding(false)}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={busy}>
              Save record
            </button>
          </div>
        </form>
      )}
      {p.consents.length === 0 ? (
        <Empty title="No record yet">
          {props.canEdit
            ? 'Record the consent or legal basis before enrolling a photo.'
            : 'No photo can be enrolled until one exists.'}
        </Empty>
      ) : (
        <ul class="consents">
          {p.consents.map((c) => (
            <li key={c.id}>
              <p>
                <strong>{legalBasisText[c.legalBasis] ?? c.legalBasis}</strong>{' '}
                {c.withdrawnAt === null ? (
                  <Badge tone="ok">in force</Badge>
                ) : (
                  <Badge tone="muted">withdrawn</Badge>
                )}
              </p>
              <p class="muted">
                Notice {c.noticeVersion} · recorded by {c.recordedBy} on {dateTime(c.recordedAt)}
                {c.withdrawnAt !== null &&
                  ` · withdrawn by ${c.withdrawnBy ?? '?'} on ${dateTime(c.withdrawnAt)}`}
              </p>
              {props.canEdit && c.withdrawnAt === null && (
                <button type="button" class="link danger-text" onClick={() => setWithdrawing(c)}>
                  Withdraw
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <ConfirmDialog
        open={withdrawing !== undefined}
        title="Withdraw this record?"
        confirmLabel="Withdraw"
        danger
        busy={busy}
        onConfirm={() => void withdraw()}
        onCancel={() => setWithdrawing(undefined)}
      >
        <p>
          {active.length <= 1
            ? `With no basis left, ${p.displayName}'s face templates are deleted on the hub and on every device.`
            : 'Other records stay in force; the templates are kept.'}
        </p>
      </ConfirmDialog>
    </Section>
  );
}

function Erasure(props: { person: PersonDetail; canEdit: boolean; onErased: () => void }) {
  const { site } = useSession();
  const p = props.person;
  const erased = p.erasedAt !== null;
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [status, setStatus] = useState<ErasureStatus | undefined>(undefined);

  // Until every device has confirmed, ask again every few seconds.
  useEffect(() => {
    if (!erased) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const next = await api.get<ErasureStatus>(`/people/${encodeURIComponent(p.id)}/erasure`);
        if (stopped) return;
        setStatus(next);
        if (!next.complete) timer = setTimeout(() => void poll(), 3000);
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [erased, p.id]);

  const erase = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await api.delete<EraseResult>(`/people/${encodeURIComponent(p.id)}`);
      setStatus(result.erasure);
      setConfirming(false);
      props.onErased();
    } catch (e) {
      setError(e);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };

  if (!erased) {
    return (
      <Section title="Erase" id="erase-title">
        <ErrorNotice error={error} />
        <p>
          Deletes this person's face templates and photos on the hub and on every device, and withdraws their
          consent records. Attendance records stay. This cannot be undone.
        </p>
        <button type="button" class="danger" onClick={() => setConfirming(true)} disabled={!props.canEdit}>
          Erase {p.displayName}…
        </button>
        <ConfirmDialog
          open={confirming}
          title={`Erase ${p.displayName}?`}
          confirmLabel="Erase permanently"
          danger
          busy={busy}
          confirmDisabled={typed.trim() !== p.displayName.trim()}
          onConfirm={() => void erase()}
          onCancel={() => {
            setConfirming(false);
            setTyped('');
          }}
        >
          <p>Every device of the person's sites will delete their face templates and confirm it here.</p>
          <TextField
            label={`Type the name (${p.displayName}) to confirm`}
            value={typed}
            onValue={setTyped}
            autocomplete="off"
          />
        </ConfirmDialog>
      </Section>
    );
  }
  const waiting = status?.devices.filter((d) => !d.confirmed).length ?? 0;
  return (
    <Section title="Erasure on the devices" id="erasure-title">
      <ErrorNotice error={error} />
      {!status ? (
        <Loading lines={3} label="Loading erasure status" />
      ) : (
        <>
          <div role="status" aria-live="polite">
            {status.complete ? (
              <Notice kind="ok">
                Every device has confirmed the erasure
                {status.devices.length === 0 ? " (the person's sites have no active device)" : ''}.
              </Notice>
            ) : (
              <Notice kind="warn">
                Waiting for {waiting} of {status.devices.length} device
                {status.devices.length === 1 ? '' : 's'} to confirm. A device confirms when it next connects
                and applies the roster change.
              </Notice>
            )}
          </div>
          {status.devices.length > 0 && (
            <Table
              caption="Erasure confirmation per device"
              rows={status.devices}
              rowKey={(d) => `${d.siteId}/${d.deviceId}`}
              columns={[
                { label: 'Device', render: (d) => d.deviceId },
                { label: 'Site', render: (d) => site(d.siteId)?.name ?? d.siteId },
                { label: 'Erase change', numeric: true, render: (d) => `#${d.seq}` },
                {
                  label: 'Applied up to',
                  numeric: true,
                  render: (d) => (d.rosterSeqApplied === null ? '—' : `#${d.rosterSeqApplied}`),
                },
                {
                  label: 'Status',
                  render: (d) =>
                    d.confirmed ? <Badge tone="ok">Confirmed</Badge> : <Badge tone="warn">Waiting</Badge>,
                },
              ]}
            />
          )}
        </>
      )}
    </Section>
  );
}
