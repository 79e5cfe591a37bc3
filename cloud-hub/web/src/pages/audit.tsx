// The audit log (admins): every change with who, what and when, newest first, filtered by actor, action,
// target and dates (in the browser's time zone), older entries page by page.
import { useEffect, useState } from 'preact/hooks';
import { type AuditView, api } from '../api.ts';
import { link, navigate } from '../route.ts';
import { addDays, dateTime } from '../time.ts';
import {
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

const actions = [
  'user.login',
  'user.create',
  'user.update',
  'user.delete',
  'person.create',
  'person.update',
  'person.enrol',
  'person.erase',
  'template.delete',
  'consent.record',
  'consent.withdraw',
  'site.create',
  'site.update',
  'device.register',
  'device.revoke',
  'alert.acknowledge',
];
const pageSize = 100;

interface Filters {
  actor: string;
  action: string;
  target: string;
  from: string;
  to: string;
}

/** Local midnight of a browser-local date. */
function localMidnight(date: string): number {
  const [y = 0, m = 1, d = 1] = date.split('-').map(Number);
  return new Date(y, m - 1, d).getTime();
}

function details(entry: AuditView): string {
  return Object.entries(entry.details)
    .filter(([, v]) => v !== null && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

export function AuditPage(props: { query: URLSearchParams }) {
  const q = props.query;
  const applied: Filters = {
    actor: q.get('actor') ?? '',
    action: q.get('action') ?? '',
    target: q.get('target') ?? '',
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
  };
  const key = JSON.stringify(applied);
  const [draft, setDraft] = useState(applied);
  const [older, setOlder] = useState<AuditView[]>([]);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const [exhausted, setExhausted] = useState(false);
  useEffect(() => {
    setDraft(applied);
    setOlder([]);
    setExhausted(false);
  }, [key]);

  const query = {
    actor: applied.actor || undefined,
    action: applied.action || undefined,
    target: applied.target || undefined,
    from: applied.from ? localMidnight(applied.from) : undefined,
    to: applied.to ? localMidnight(addDays(applied.to, 1)) : undefined,
    limit: pageSize,
  };
  const first = useLoad((signal) => api.get<{ entries: AuditView[] }>('/audit', query, signal), [key]);
  const entries = first.data ? [...first.data.entries, ...older] : undefined;
  const more = !exhausted && (first.data?.entries.length ?? 0) === pageSize;

  const loadOlder = async () => {
    const last = entries?.at(-1);
    if (!last) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await api.get<{ entries: AuditView[] }>('/audit', { ...query, beforeId: last.id });
      setOlder((list) => [...list, ...page.entries]);
      if (page.entries.length < pageSize) setExhausted(true);
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <Page title="Audit log">
      <form
        class="filters card"
        aria-label="Audit filters"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(link(['audit'], { ...draft }));
        }}
      >
        <TextField
          label="Who"
          value={draft.actor}
          onValue={(v) => setDraft({ ...draft, actor: v })}
          placeholder="user name"
        />
        <SelectField
          label="Action"
          value={draft.action}
          onValue={(v) => setDraft({ ...draft, action: v })}
          options={[{ value: '', label: 'All actions' }, ...actions.map((a) => ({ value: a, label: a }))]}
        />
        <TextField
          label="Target"
          value={draft.target}
          onValue={(v) => setDraft({ ...draft, target: v })}
          placeholder="person, device or user id"
        />
        <TextField
          label="From"
          type="date"
          value={draft.from}
          onValue={(v) => setDraft({ ...draft, from: v })}
        />
        <TextField label="To" type="date" value={draft.to} onValue={(v) => setDraft({ ...draft, to: v })} />
        <div class="filter-submit">
          <button type="submit" class="primary">
            Show
          </button>
        </div>
      </form>
      <ErrorNotice error={first.error ?? moreError} onRetry={first.reload} />
      <Section title="Entries" id="audit-title">
        <p class="hint">
          Append-only: entries cannot be changed or removed. Times in your browser's time zone.
        </p>
        {!entries ? (
          <Loading lines={6} label="Loading the audit log" />
        ) : entries.length === 0 ? (
          <Empty title="No entries match">Clear a filter or widen the dates.</Empty>
        ) : (
          <>
            <Table
              caption="Audit log entries"
              rows={entries}
              rowKey={(e) => String(e.id)}
              columns={[
                {
                  label: 'When',
                  render: (e) => <time dateTime={new Date(e.at).toISOString()}>{dateTime(e.at)}</time>,
                },
                { label: 'Who', render: (e) => e.actor },
                { label: 'Action', render: (e) => <code>{e.action}</code> },
                { label: 'Target', render: (e) => e.target ?? '—' },
                { label: 'Details', render: (e) => <span class="details-text">{details(e)}</span> },
              ]}
            />
            {more && (
              <button
                type="button"
                class="secondary more"
                disabled={loadingMore}
                onClick={() => void loadOlder()}
              >
                {loadingMore ? 'Loading…' : 'Load older entries'}
              </button>
            )}
          </>
        )}
      </Section>
    </Page>
  );
}
