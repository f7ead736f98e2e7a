import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { LintIssue, TemplateForm, TemplateLintView, TemplateView } from '$lib/ipc';
import { emitEvent, mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import { template } from '../../test/fixtures';
import { draftOf, emptyDraft, formOf, targetOf, variables } from './form';
import Templates from './Templates.svelte';

const preview = { header: null, body: 'Hi Ana', footer: null, buttons: [], missing: [] };

function lintOf(issues: LintIssue[]): TemplateLintView {
  return { issues, hasErrors: issues.some((i) => i.severity === 'error'), preview };
}

function issue(field: string, message: string, severity = 'error'): LintIssue {
  return { rule: 'rule', field, message, severity };
}

/** Name lint as Rust would: anything but lowercase/digits/underscore is an error. */
function fakeLint(args: Record<string, unknown> | undefined): TemplateLintView {
  const form = args?.form as TemplateForm;
  const issues: LintIssue[] = [];
  if (!/^[a-z0-9_]+$/.test(form.name)) issues.push(issue('name', 'Use only lowercase letters a-z.'));
  if (form.body.trim() === '') issues.push(issue('body.text', 'The body is empty.'));
  return { ...lintOf(issues), preview: { ...preview, body: form.body } };
}

function setup(items: TemplateView[], handlers: Record<string, CommandHandler> = {}, canManage = true) {
  const log: CommandCall[] = [];
  let current = items;
  const calls = mockCommands(
    {
      list_templates: () => current,
      lint_template: fakeLint,
      ...handlers,
    },
    log,
  );
  render(Templates, { canManage });
  return {
    log,
    calls,
    setTemplates: (next: TemplateView[]) => {
      current = next;
    },
  };
}

async function type(testid: string, value: string): Promise<void> {
  await fireEvent.input(await screen.findByTestId(testid), { target: { value } });
}

describe('Templates studio list', () => {
  it('shows statuses, quality and the rejection reason', async () => {
    setup([
      template(1, { name: 'order_ready' }),
      template(2, { name: 'promo', status: 'REJECTED', rejectedReason: 'INVALID_FORMAT', quality: null }),
      template(3, { name: 'waiting', status: 'PENDING', quality: 'UNKNOWN' }),
    ]);
    const rows = await screen.findAllByTestId('template-row');
    expect(rows).toHaveLength(3);
    const statuses = screen.getAllByTestId('template-status').map((s) => s.dataset.status);
    expect(statuses).toEqual(['APPROVED', 'REJECTED', 'PENDING']);
    expect(within(rows[0] as HTMLElement).getByText('Quality: green')).toBeInTheDocument();
    expect(screen.getByTestId('template-rejected-reason')).toHaveTextContent('Rejected: INVALID_FORMAT');
    // Edit only where Meta allows it (approved, rejected, paused), not while in review.
    expect(within(rows[0] as HTMLElement).queryByTestId('template-edit')).not.toBeNull();
    expect(within(rows[2] as HTMLElement).queryByTestId('template-edit')).toBeNull();
  });

  it('turns a status live when templates-changed arrives (no reload)', async () => {
    const { setTemplates } = setup([template(7, { name: 'order_ready', status: 'PENDING' })]);
    const status = await screen.findByTestId('template-status');
    expect(status.dataset.status).toBe('PENDING');
    setTemplates([template(7, { name: 'order_ready', status: 'APPROVED' })]);
    await emitEvent('templatesChanged', {});
    await waitFor(() => {
      expect(screen.getByTestId('template-status').dataset.status).toBe('APPROVED');
    });
  });

  it('agents see templates without create, edit or delete', async () => {
    setup([template(1)], {}, false);
    await screen.findByTestId('template-row');
    expect(screen.queryByTestId('template-new')).toBeNull();
    expect(screen.queryByTestId('template-edit')).toBeNull();
    expect(screen.queryByTestId('template-delete')).toBeNull();
  });

  it('deletes only after confirmation', async () => {
    const { log, setTemplates } = setup([template(4, { name: 'old_one' })], {
      delete_template: () => {
        setTemplates([]);
        return null;
      },
    });
    await fireEvent.click(await screen.findByTestId('template-delete'));
    const dialog = screen.getByTestId('template-delete-confirm');
    expect(dialog).toHaveAttribute('role', 'alertdialog');
    expect(log.some((c) => c.cmd === 'delete_template')).toBe(false);
    await fireEvent.click(within(dialog).getByText('Cancel'));
    expect(screen.queryByTestId('template-delete-confirm')).toBeNull();
    await fireEvent.click(screen.getByTestId('template-delete'));
    await fireEvent.click(screen.getByTestId('template-delete-yes'));
    await waitFor(() => {
      expect(log.find((c) => c.cmd === 'delete_template')?.args).toEqual({ id: 4 });
    });
    expect(await screen.findByTestId('templates-empty')).toBeInTheDocument();
  });
});

describe('Templates studio editor', () => {
  it('lints in Rust as you type, shows issues inline, previews, and submits', async () => {
    const { log } = setup([], {
      create_template: (args) => template(9, { name: (args?.form as TemplateForm).name, status: 'PENDING' }),
    });
    await fireEvent.click(await screen.findByTestId('template-new'));
    await type('template-name', 'Order Ready');
    await type('template-body', 'Hi {{1}}, your order is ready.');
    await waitFor(() => {
      expect(screen.getByText('Use only lowercase letters a-z.')).toBeInTheDocument();
    });
    // Issues are tied to their field; submitting is blocked while an error remains.
    expect(screen.getByTestId('template-name')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByTestId('template-submit')).toBeDisabled();
    // One sample input per variable, and the preview comes from Rust.
    expect(screen.getAllByTestId('template-body-example')).toHaveLength(1);
    expect(screen.getByTestId('template-editor-preview')).toHaveTextContent('Hi {{1}}, your order is ready.');

    await type('template-name', 'order_ready');
    await type('template-body-example', 'Ana');
    await waitFor(() => {
      expect(screen.getByTestId('lint-clean')).toBeInTheDocument();
    });
    await waitFor(() => {
      expect(screen.getByTestId('template-submit')).toBeEnabled();
    });
    await fireEvent.click(screen.getByTestId('template-submit'));
    await waitFor(() => {
      expect(screen.getByTestId('templates-notice')).toHaveTextContent('order_ready was submitted for review.');
    });
    const sent = log.find((c) => c.cmd === 'create_template')?.args?.form as TemplateForm;
    expect(sent).toMatchObject({ name: 'order_ready', body: 'Hi {{1}}, your order is ready.', bodyExamples: ['Ana'] });
    // Lint ran debounced, not once per keystroke of the whole session.
    expect(log.filter((c) => c.cmd === 'lint_template').length).toBeLessThan(6);
  });

  it('uploads a media header sample chosen in the system dialog and sends its handle', async () => {
    const { log } = setup([], {
      choose_header_sample: () => ({ handle: '4::aW1hZ2UvcG5n:abc', fileName: 'window.png' }),
      create_template: (args) => template(9, { name: (args?.form as TemplateForm).name, status: 'PENDING' }),
    });
    await fireEvent.click(await screen.findByTestId('template-new'));
    await type('template-name', 'window_display');
    await type('template-body', 'Our new window is up.');
    await fireEvent.change(screen.getByTestId('template-header-format'), { target: { value: 'IMAGE' } });
    expect(await screen.findByTestId('template-header-sample')).toHaveTextContent('choose one');
    await fireEvent.click(screen.getByTestId('template-header-sample-choose'));
    expect(await screen.findByTestId('template-header-sample')).toHaveTextContent('Sample: window.png');
    expect(log).toContainEqual({ cmd: 'choose_header_sample', args: { format: 'IMAGE' } });
    await waitFor(() => {
      expect(screen.getByTestId('template-submit')).toBeEnabled();
    });
    await fireEvent.click(screen.getByTestId('template-submit'));
    await waitFor(() => {
      expect(log.some((c) => c.cmd === 'create_template')).toBe(true);
    });
    const sent = log.find((c) => c.cmd === 'create_template')?.args?.form as TemplateForm;
    expect(sent.header).toEqual({ format: 'IMAGE', text: null, example: '4::aW1hZ2UvcG5n:abc' });
  });

  it('clears a sample when the header format changes and reports a refused file', async () => {
    setup([], {
      choose_header_sample: (args) =>
        args?.format === 'VIDEO'
          ? Promise.reject({ kind: 'invalidInput', message: 'this header’s sample must be video/mp4' })
          : { handle: '4::x', fileName: 'window.png' },
    });
    await fireEvent.click(await screen.findByTestId('template-new'));
    await fireEvent.change(await screen.findByTestId('template-header-format'), { target: { value: 'IMAGE' } });
    await fireEvent.click(await screen.findByTestId('template-header-sample-choose'));
    expect(await screen.findByTestId('template-header-sample')).toHaveTextContent('window.png');
    await fireEvent.change(screen.getByTestId('template-header-format'), { target: { value: 'VIDEO' } });
    expect(await screen.findByTestId('template-header-sample')).toHaveTextContent('choose one');
    await fireEvent.click(screen.getByTestId('template-header-sample-choose'));
    expect(await screen.findByTestId('template-header-sample-error')).toHaveTextContent('must be video/mp4');
  });

  it('shows the issues of a refused submit on their fields', async () => {
    setup([], {
      lint_template: () => lintOf([]),
      create_template: () =>
        Promise.reject({
          kind: 'lint',
          message: 'the template has problems',
          issues: [issue('buttons[0].text', 'The label is longer than 25 characters.')],
        }),
    });
    await fireEvent.click(await screen.findByTestId('template-new'));
    await type('template-name', 'x');
    await type('template-body', 'Hello');
    await fireEvent.click(screen.getByTestId('template-add-button'));
    await waitFor(() => {
      expect(screen.getByTestId('template-submit')).toBeEnabled();
    });
    await fireEvent.click(screen.getByTestId('template-submit'));
    const problem = await screen.findByText('The label is longer than 25 characters.');
    expect(problem.closest('[data-testid="template-button"]')).not.toBeNull();
    expect(screen.getByTestId('template-submit-error')).toHaveTextContent('Fix the errors');
  });

  /** An approved template as the editor opens it. */
  const form: TemplateForm = {
    name: 'order_ready',
    language: 'en_US',
    category: 'UTILITY',
    header: null,
    body: 'Hi {{1}}',
    bodyExamples: ['Ana'],
    footer: null,
    buttons: [],
  };

  it('edits an approved template: name and language fixed, category locked', async () => {
    const { log } = setup([template(5, { name: 'order_ready' })], {
      template_detail: () => ({ template: template(5), form, editable: true, categoryLocked: true, history: [] }),
      edit_template: () => template(5, { status: 'PENDING' }),
    });
    await fireEvent.click(await screen.findByTestId('template-edit'));
    expect(await screen.findByTestId('template-name')).toBeDisabled();
    expect(screen.getByTestId('template-language')).toBeDisabled();
    expect(screen.getByTestId('template-category')).toBeDisabled();
    expect(screen.getByTestId('template-body')).toHaveValue('Hi {{1}}');
    await type('template-body', 'Hello {{1}}');
    await waitFor(() => {
      expect(screen.getByTestId('template-submit')).toBeEnabled();
    });
    await fireEvent.click(screen.getByTestId('template-submit'));
    await waitFor(() => {
      expect(log.find((c) => c.cmd === 'edit_template')?.args).toMatchObject({
        id: 5,
        form: { name: 'order_ready', body: 'Hello {{1}}', bodyExamples: ['Ana'] },
      });
    });
  });

  it('shows what Meta said about the template, newest first, reasons as text', async () => {
    setup([template(5, { name: 'order_ready' })], {
      template_detail: () => ({
        template: template(5),
        form,
        editable: true,
        categoryLocked: true,
        history: [
          { event: 'status', value: 'PENDING', reason: null, ts: 1_762_300_000 },
          { event: 'status', value: 'REJECTED', reason: '<b>INVALID_FORMAT</b>', ts: 1_762_300_100 },
          { event: 'quality', value: 'GREEN', reason: null, ts: 1_762_300_200 },
        ],
      }),
    });
    await fireEvent.click(await screen.findByTestId('template-edit'));
    const history = await screen.findByTestId('template-history');
    const items = Array.from(history.querySelectorAll('li')).map((li) => li.textContent.replace(/\s+/g, ' ').trim());
    expect(items).toHaveLength(3);
    expect(items[0]).toContain('Quality: GREEN');
    expect(items[1]).toContain('Status: Rejected');
    expect(items[1]).toContain('<b>INVALID_FORMAT</b>');
    expect(items[2]).toContain('Status: In review');
    expect(history.querySelector('b')).toBeNull();
  });

  it('a new template has no history section', async () => {
    setup([]);
    await fireEvent.click(await screen.findByTestId('template-new'));
    await screen.findByTestId('template-editor');
    expect(screen.queryByTestId('template-history')).toBeNull();
  });

  it('renders template text as text, never HTML', async () => {
    setup([template(1, { bodyText: '<img src=x onerror=alert(1)>' })]);
    await screen.findByTestId('template-row');
    expect(screen.getByText('<img src=x onerror=alert(1)>')).toBeInTheDocument();
    expect(document.querySelector('img')).toBeNull();
  });
});

describe('form helpers', () => {
  it('finds distinct variables in order', () => {
    expect(variables('Hi {{1}} {{2}} {{1}} {{first_name}}')).toEqual(['1', '2', 'first_name']);
  });

  it('places issues on fields', () => {
    expect(targetOf(issue('buttons[2].url', ''))).toBe('button-2');
    expect(targetOf(issue('body.example', ''))).toBe('body');
    expect(targetOf(issue('parameter_format', ''))).toBe('general');
  });

  it('drops empty optional parts and round-trips a stored form', () => {
    const draft = emptyDraft();
    draft.name = 'a';
    draft.body = 'Hi {{1}}';
    const form = formOf(draft);
    expect(form.header).toBeNull();
    expect(form.footer).toBeNull();
    expect(form.bodyExamples).toEqual(['']);
    expect(formOf(draftOf(form))).toEqual(form);
  });
});
