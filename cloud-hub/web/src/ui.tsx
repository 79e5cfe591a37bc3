// Small building blocks shared by the pages: page frame, fields with labels, notices, empty states,
// tables that become stacked cards on a phone, a confirmation dialog, and data loading.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { explain } from './messages.ts';

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · TruePresence`;
    // Keyboard and screen-reader users land on the new page's heading after a navigation.
    heading.current?.focus({ preventScroll: true });
  }, [props.title]);
  return (
    <>
      <div class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          {props.title}
        </h1>
        {props.actions && <div class="page-actions">{props.actions}</div>}
      </div>
      {props.children}
    </>
  );
}

export function Section(props: {
  title: string;
  id?: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <section class="card" aria-labelledby={props.id}>
      <div class="card-head">
        <h2 id={props.id}>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

interface InputProps {
  label: string;
  hint?: string;
  value: string;
  onValue: (value: string) => void;
  type?: 'text' | 'password' | 'search' | 'date';
  required?: boolean;
  maxLength?: number;
  placeholder?: string;
  autocomplete?: string;
  autocapitalize?: 'none';
  spellcheck?: boolean;
}

export function TextField({ label, hint, value, onValue, type = 'text', ...rest }: InputProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        // Preact types <input> per type value; a union of types has to be narrowed to one of them.
        type={type as 'text'}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
        aria-describedby={hint ? `${id}-hint` : undefined}
        {...rest}
      />
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

export function TextArea(props: {
  label: string;
  hint?: string;
  value: string;
  onValue: (v: string) => void;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea
        id={id}
        rows={3}
        value={props.value}
        onInput={(e) => props.onValue(e.currentTarget.value)}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

export function SelectField(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  options: ReadonlyArray<{ value: string; label: string }>;
  required?: boolean;
  hint?: string;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        required={props.required}
        onChange={(e) => props.onValue(e.currentTarget.value)}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

export function Checkboxes(props: {
  legend: string;
  options: ReadonlyArray<{ value: string; label: string }>;
  selected: readonly string[];
  onChange: (selected: string[]) => void;
  hint?: string;
}) {
  const id = useId();
  return (
    <fieldset class="field checks" aria-describedby={props.hint ? `${id}-hint` : undefined}>
      <legend>{props.legend}</legend>
      {props.options.map((o) => (
        <label key={o.value} class="check">
          <input
            type="checkbox"
            checked={props.selected.includes(o.value)}
            onChange={(e) =>
              props.onChange(
                e.currentTarget.checked
                  ? [...props.selected, o.value]
                  : props.selected.filter((v) => v !== o.value),
              )
            }
          />
          {o.label}
        </label>
      ))}
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </fieldset>
  );
}

export function ErrorNotice(props: { error: unknown; onRetry?: () => void }) {
  if (!props.error) return null;
  const { title, advice, code } = explain(props.error);
  return (
    <div class="notice error" role="alert">
      <p class="notice-title">{title}</p>
      {advice && <p>{advice}</p>}
      {code && <p class="code">{code}</p>}
      {props.onRetry && (
        <button type="button" class="secondary" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice(props: { kind: 'ok' | 'info' | 'warn'; children: ComponentChildren }) {
  return (
    <div class={`notice ${props.kind}`} role="status">
      {props.children}
    </div>
  );
}

export function Empty(props: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{props.title}</p>
      {props.children && <p>{props.children}</p>}
    </div>
  );
}

/** Holds the place of content that is loading, at the height it will take, so that nothing jumps. */
export function Loading(props: { lines?: number; label?: string }) {
  return (
    <div class="loading" style={{ minHeight: `${(props.lines ?? 3) * 2.5}rem` }} aria-busy="true">
      <span class="visually-hidden">{props.label ?? 'Loading'}</span>
    </div>
  );
}

export function Badge(props: {
  tone: 'ok' | 'warn' | 'bad' | 'muted' | 'info';
  children: ComponentChildren;
}) {
  return <span class={`badge ${props.tone}`}>{props.children}</span>;
}

export interface Column<T> {
  label: string;
  render: (row: T) => ComponentChildren;
  /** Numbers: right-aligned. */
  numeric?: boolean;
}

/** A table; below 640px wide each row becomes a card whose cells carry their column's name. */
export function Table<T>(props: {
  caption: string;
  columns: ReadonlyArray<Column<T>>;
  rows: readonly T[];
  rowKey: (row: T) => string;
  after?: (row: T) => ComponentChildren;
}) {
  return (
    <div class="table-wrap">
      <table class="stack">
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c.label} scope="col" class={c.numeric ? 'num' : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => {
            const extra = props.after?.(row);
            return [
              <tr key={props.rowKey(row)}>
                {props.columns.map((c) => (
                  <td key={c.label} data-label={c.label} class={c.numeric ? 'num' : undefined}>
                    {c.render(row)}
                  </td>
                ))}
              </tr>,
              extra ? (
                <tr key={`${props.rowKey(row)}-after`} class="after-row">
                  <td colSpan={props.columns.length}>{extra}</td>
                </tr>
              ) : null,
            ];
          })}
        </tbody>
      </table>
    </div>
  );
}

/** A modal confirmation (the native <dialog>: focus is trapped inside it, Escape cancels). */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  confirmDisabled?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (props.open && !element.open) element.showModal();
    if (!props.open && element.open) element.close();
  }, [props.open]);
  return (
    <dialog
      ref={dialog}
      aria-labelledby={id}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id={id}>{props.title}</h2>
      <div class="dialog-body">{props.children}</div>
      <div class="dialog-actions">
        <button type="button" class="secondary" onClick={props.onCancel} disabled={props.busy}>
          Cancel
        </button>
        <button
          type="button"
          class={props.danger ? 'danger' : 'primary'}
          onClick={props.onConfirm}
          disabled={props.busy || props.confirmDisabled}
        >
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again, keeping the current data on screen meanwhile. */
  reload: () => void;
}

/** Runs `load` when `deps` change; a result that arrives after a newer request started is dropped. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

/** `value`, once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
