// Attendance: first-in / last-out per person per site-local day with every pass on demand, filters kept
// in the address (bookmarkable), and CSV exports (one row per person per day, one row per pass).
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  type AttendanceDayView,
  allEvents,
  allPeople,
  api,
  type DeviceView,
  type EventView,
  type SiteView,
} from '../api.ts';
import { useSession } from '../app.tsx';
import { attendanceDaysCsv, download, passesCsv } from '../csv.ts';
import { link, navigate } from '../route.ts';
import { addDays, clock, dayStart, isoLocal, localDate } from '../time.ts';
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

interface Filters {
  site: string;
  from: string;
  to: string;
  door: string;
  group: string;
}

function filtersFrom(query: URLSearchParams, sites: readonly SiteView[]): Filters {
  const site = sites.find((s) => s.id === query.get('site')) ?? sites[0];
  const today = site ? localDate(Date.now(), site.timeZone) : new Date().toISOString().slice(0, 10);
  return {
    site: site?.id ?? '',
    from: query.get('from') ?? addDays(today, -6),
    to: query.get('to') ?? today,
    door: query.get('door') ?? '',
    group: query.get('group') ?? '',
  };
}

function eventQuery(f: Filters, site: SiteView) {
  return {
    siteId: f.site,
    kind: 'attendance',
    from: dayStart(f.from, site.timeZone),
    to: dayStart(addDays(f.to, 1), site.timeZone),
    cameraId: f.door || undefined,
  };
}

export function AttendancePage(props: { query: URLSearchParams }) {
  const { sites, site: siteOf } = useSession();
  const applied = filtersFrom(props.query, sites);
  const [draft, setDraft] = useState<Filters>(applied);
  const [exporting, setExporting] = useState<string | undefined>(undefined);
  const [exportError, setExportError] = useState<unknown>(undefined);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const site = siteOf(applied.site);
  const key = JSON.stringify(applied);
  useEffect(() => setDraft(applied), [key]);

  const context = useLoad(async () => {
    const [people, devices] = await Promise.all([
      allPeople({ includeErased: true }),
      api.get<{ devices: DeviceView[] }>('/devices'),
    ]);
    return { people: new Map(people.map((p) => [p.id, p] as const)), devices: devices.devices };
  }, []);
  const days = useLoad(
    async (signal) => {
      if (!site) return [];
      const result = await api.get<{ days: AttendanceDayView[] }>(
        '/attendance',
        {
          siteId: applied.site,
          from: applied.from,
          to: applied.to,
          cameraId: applied.door || undefined,
          group: applied.group || undefined,
        },
        signal,
      );
      return result.days;
    },
    [key],
  );

  const doors = useMemo(() => {
    const ids = new Set<string>();
    for (const d of context.data?.devices ?? []) {
      if (d.siteId !== draft.site) continue;
      for (const camera of (d.statusDetails.cameras as Array<{ id: string }> | undefined) ?? [])
        ids.add(camera.id);
    }
    for (const day of days.data ?? []) {
      ids.add(day.lastCameraId);
      if (day.firstInCameraId) ids.add(day.firstInCameraId);
    }
    return [...ids].sort();
  }, [context.data, days.data, draft.site]);
  const groups = useMemo(
    () => [...new Set([...(context.data?.people.values() ?? [])].flatMap((p) => p.groups))].sort(),
    [context.data],
  );

  const apply = (event: Event) => {
    event.preventDefault();
    navigate(link(['attendance'], { ...draft }));
  };

  const exportCsv = async (what: 'days' | 'passes') => {
    if (!site || !context.data || !days.data) return;
    setExporting(what);
    setExportError(undefined);
    try {
      const ctx = { siteId: site.id, timeZone: site.timeZone, people: context.data.people };
      let text: string;
      if (what === 'days') {
        text = attendanceDaysCsv(days.data, ctx);
      } else {
        const members = applied.group
          ? new Set(
              [...context.data.people.values()]
                .filter((p) => p.groups.includes(applied.group))
                .map((p) => p.id),
            )
          : undefined;
        const events = (await allEvents(eventQuery(applied, site))).filter(
          (e) => !members || (e.personId !== null && members.has(e.personId)),
        );
        text = passesCsv(events, ctx);
      }
      download(`attendance-${what}-${site.id}-${applied.from}-to-${applied.to}.csv`, text);
    } catch (e) {
      setExportError(e);
    } finally {
      setExporting(undefined);
    }
  };

  if (!site) {
    return (
      <Page title="Attendance">
        <Empty title="No sites yet">
          Attendance is counted per site. Create a site with the provisioning tool first.
        </Empty>
      </Page>
    );
  }
  const people = context.data?.people;
  const name = (id: string) => people?.get(id)?.displayName ?? id;
  return (
    <Page
      title="Attendance"
      actions={
        <>
          <button
            type="button"
            class="secondary"
            disabled={!days.data || exporting !== undefined}
            onClick={() => void exportCsv('days')}
          >
            {exporting === 'days' ? 'Exporting…' : 'Export days (CSV)'}
          </button>
          <button
            type="button"
            class="secondary"
            disabled={!days.data || exporting !== undefined}
            onClick={() => void exportCsv('passes')}
          >
            {exporting === 'passes' ? 'Exporting…' : 'Export passes (CSV)'}
          </button>
        </>
      }
    >
      <form class="filters card" onSubmit={apply} aria-label="Attendance filters">
        <SelectField
          label="Site"
          value={draft.site}
          onValue={(v) => setDraft({ ...draft, site: v, door: '' })}
          options={sites.map((s) => ({ value: s.id, label: s.name }))}
        />
        <TextField
          label="From"
          type="date"
          value={draft.from}
          onValue={(v) => setDraft({ ...draft, from: v })}
          required
        />
        <TextField
          label="To"
          type="date"
          value={draft.to}
          onValue={(v) => setDraft({ ...draft, to: v })}
          required
        />
        <SelectField
          label="Door"
          value={draft.door}
          onValue={(v) => setDraft({ ...draft, door: v })}
          options={[{ value: '', label: 'All doors' }, ...doors.map((d) => ({ value: d, label: d }))]}
        />
        <SelectField
          label="Group"
          value={draft.group}
          onValue={(v) => setDraft({ ...draft, group: v })}
          options={[{ value: '', label: 'All groups' }, ...groups.map((g) => ({ value: g, label: g }))]}
        />
        <div class="filter-submit">
          <button type="submit" class="primary">
            Show
          </button>
        </div>
      </form>
      <ErrorNotice error={days.error ?? context.error ?? exportError} />
      <Section
        title={`${site.name}: ${applied.from === applied.to ? applied.from : `${applied.from} to ${applied.to}`}`}
        id="attendance-title"
      >
        <p class="hint">
          Times in {site.timeZone}. A pass through a door without a direction counts as both in and out.
        </p>
        {!days.data || !people ? (
          <Loading lines={6} label="Loading attendance" />
        ) : days.data.length === 0 ? (
          <Empty title="No attendance in this period">
            Try a wider date range, another door or group. People appear here once a camera of this site has
            recognised them.
          </Empty>
        ) : (
          <>
            <p class="summary">
              {plural(days.data.length, 'person-day', 'person-days')},{' '}
              {plural(new Set(days.data.map((d) => d.personId)).size, 'person', 'people')}
            </p>
            <Table
              caption="Attendance per person per day"
              rows={days.data}
              rowKey={(d) => `${d.date}/${d.personId}`}
              columns={[
                { label: 'Date', render: (d) => d.date },
                {
                  label: 'Person',
                  render: (d) => (
                    <>
                      <a href={link(['people', d.personId])}>{name(d.personId)}</a>
                      {people.get(d.personId)?.externalId && (
                        <span class="muted"> · {people.get(d.personId)?.externalId}</span>
                      )}
                    </>
                  ),
                },
                {
                  label: 'First in',
                  render: (d) =>
                    d.firstInAt === null
                      ? '—'
                      : `${clock(d.firstInAt, site.timeZone)} · ${d.firstInCameraId}`,
                },
                {
                  label: 'Last out',
                  render: (d) =>
                    d.lastOutAt === null
                      ? '—'
                      : `${clock(d.lastOutAt, site.timeZone)} · ${d.lastOutCameraId}`,
                },
                {
                  label: 'Passes',
                  numeric: true,
                  render: (d) => {
                    const id = `${d.date}/${d.personId}`;
                    return (
                      <button
                        type="button"
                        class="link"
                        aria-expanded={open === id}
                        onClick={() => setOpen(open === id ? undefined : id)}
                      >
                        {d.passes} {open === id ? '▴' : '▾'}
                        <span class="visually-hidden">
                          {' '}
                          passes of {name(d.personId)} on {d.date}
                        </span>
                      </button>
                    );
                  },
                },
              ]}
              after={(d) =>
                open === `${d.date}/${d.personId}` ? (
                  <Passes
                    site={site}
                    filters={{ ...applied, from: d.date, to: d.date }}
                    personId={d.personId}
                  />
                ) : null
              }
            />
          </>
        )}
      </Section>
    </Page>
  );
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function Passes(props: { site: SiteView; filters: Filters; personId: string }) {
  const passes = useLoad(
    () => allEvents({ ...eventQuery(props.filters, props.site), personId: props.personId }),
    [props.personId, props.filters.from],
  );
  if (passes.error) return <ErrorNotice error={passes.error} />;
  if (!passes.data) return <Loading lines={2} label="Loading passes" />;
  return (
    <ol class="passes">
      {passes.data.map((e: EventView) => (
        <li key={e.eventId}>
          <time dateTime={isoLocal(e.capturedAt, props.site.timeZone)}>
            {clock(e.capturedAt, props.site.timeZone, true)}
          </time>{' '}
          {e.cameraId} · {e.direction ?? 'no direction'}
        </li>
      ))}
    </ol>
  );
}
