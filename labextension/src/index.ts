/**
 * ft-lab in JupyterLab: the launcher card "Fine-tune a model" (a new notebook with a Studio cell in
 * the server environment's kernel), the left sidebar "Fine-tuning" (runs and plugins) and a status
 * bar item with the active run's progress and ETA. Everything it shows comes from the server
 * extension's REST API (`/ft-lab/api/`), which reads the run directories.
 *
 * Launcher and status bar are optional: in Notebook 7 (no launcher, no status bar) the sidebar and
 * the command (palette, File > New) still work.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, InputDialog, MainAreaWidget } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { formatSeconds, IRunSummary, requestAPI, RunsModel } from './api';
import { FineTuningSidebar } from './sidebar';

const NEW_NOTEBOOK = 'ft-lab:new-studio-notebook';
const OPEN_SIDEBAR = 'ft-lab:open-sidebar';
const OPEN_EXAMPLE = 'ft-lab:open-example';

export const STUDIO_CELL = 'from ft_lab import Studio\n\nstudio = Studio()\nstudio';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161"><rect x="3" y="4" width="18" height="2" rx="1"/><rect x="3" y="11" width="18" height="2" rx="1"/>
<rect x="3" y="18" width="18" height="2" rx="1"/><circle cx="8" cy="5" r="2.6"/><circle cx="16" cy="12" r="2.6"/><circle cx="11" cy="19" r="2.6"/></g></svg>`;

export const ftLabIcon = new LabIcon({ name: 'ft-lab:icon', svgstr: ICON_SVG });

interface IEnvironment {
  kernel: string | null;
  version: string;
  runs_dir: string;
}

/** A main-area tab showing a run's HTML report in a sandboxed frame (no scripts run in it). */
class ReportView extends Widget {
  constructor(html: string) {
    super();
    this.addClass('ft-lab-report');
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', '');
    frame.srcdoc = html;
    this.node.appendChild(frame);
  }
}

class TextView extends Widget {
  constructor(text: string) {
    super();
    const pre = document.createElement('pre');
    pre.className = 'ft-lab-text';
    pre.textContent = text;
    this.node.appendChild(pre);
  }
}

class RunStatusItem extends Widget {
  constructor(private model: RunsModel) {
    super();
    this.addClass('ft-lab-statusbar');
    this.addClass('jp-StatusBar-TextItem');
    model.changed.connect(this.update, this);
  }

  protected onUpdateRequest(): void {
    const run = this.model.active;
    if (!run) {
      this.node.textContent = '';
      return;
    }
    const pct = run.progress !== null ? ` ${Math.floor(run.progress * 100)}%` : ` ${run.status}`;
    const eta = run.eta !== null ? ` · ETA ${formatSeconds(run.eta)}` : '';
    this.node.textContent = `Fine-tuning${pct}${eta}`;
    this.node.title = `${run.id}: ${run.status}, step ${run.step}/${run.max_steps ?? '?'}`;
  }
}

async function studioKernel(app: JupyterFrontEnd): Promise<string | undefined> {
  try {
    const env = await requestAPI<IEnvironment>('environment');
    if (env.kernel) {
      return env.kernel;
    }
  } catch {
    // fall back to the server's default kernel
  }
  await app.serviceManager.kernelspecs.ready;
  return app.serviceManager.kernelspecs.specs?.default;
}

/**
 * Write a new notebook holding the Studio cell (through the contents API, so that it also works where
 * opening a document gives no panel back, as in Notebook 7), open it, and in JupyterLab run the cell.
 */
async function newStudioNotebook(app: JupyterFrontEnd, cwd: string): Promise<Widget | undefined> {
  const kernel = await studioKernel(app);
  await app.serviceManager.kernelspecs.ready;
  const spec = kernel ? app.serviceManager.kernelspecs.specs?.kernelspecs[kernel] : undefined;
  const model: any = await app.commands.execute('docmanager:new-untitled', { path: cwd, type: 'notebook' });
  await app.serviceManager.contents.save(model.path, {
    type: 'notebook',
    format: 'json',
    content: {
      cells: [{ cell_type: 'code', source: STUDIO_CELL, metadata: {}, outputs: [], execution_count: null }],
      metadata: spec
        ? { kernelspec: { name: spec.name, display_name: spec.display_name, language: spec.language } }
        : {},
      nbformat: 4,
      nbformat_minor: 5
    }
  });
  const panel: any = await app.commands.execute('docmanager:open', {
    path: model.path,
    factory: 'Notebook',
    kernel: kernel ? { name: kernel } : undefined
  });
  if (panel?.sessionContext) {
    await panel.sessionContext.ready;
    app.shell.activateById(panel.id);
    await app.commands.execute('notebook:run-all-cells');
  }
  return panel;
}

/** A copy of an example notebook in `cwd` (never over an existing file), opened. */
async function openExampleCopy(app: JupyterFrontEnd, cwd: string): Promise<string | undefined> {
  const { examples } = await requestAPI<{ examples: { name: string; title: string }[] }>('examples');
  if (!examples.length) {
    window.alert('ft-lab: no example notebooks are installed');
    return undefined;
  }
  let chosen = examples[0];
  if (examples.length > 1) {
    const labels = examples.map(e => `${e.title} (${e.name})`);
    const answer = await InputDialog.getItem({ title: 'Open a copy of an example', items: labels });
    if (!answer.button.accept || answer.value === null) {
      return undefined;
    }
    chosen = examples[labels.indexOf(answer.value)];
  }
  const content = await requestAPI<any>(`examples/${encodeURIComponent(chosen.name)}`);
  const stem = chosen.name.replace(/\.ipynb$/, '');
  const prefix = cwd ? `${cwd}/` : '';
  let path = `${prefix}${chosen.name}`;
  for (let i = 1; ; i++) {
    try {
      await app.serviceManager.contents.get(path, { content: false });
      path = `${prefix}${stem}-${i}.ipynb`;
    } catch {
      break; // free
    }
  }
  await app.serviceManager.contents.save(path, { type: 'notebook', format: 'json', content });
  await app.commands.execute('docmanager:open', { path });
  return path;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'ft-lab:plugin',
  description: 'Launcher card, Fine-tuning sidebar and run status for ft-lab.',
  autoStart: true,
  optional: [ILauncher, ILayoutRestorer, IStatusBar, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null
  ) => {
    const model = new RunsModel();
    const tabs = new Map<string, MainAreaWidget>();

    const showTab = (key: string, label: string, content: Widget) => {
      tabs.get(key)?.dispose();
      const tab = new MainAreaWidget({ content });
      tab.id = `ft-lab-${key}`.replace(/[^A-Za-z0-9_-]/g, '-');
      tab.title.label = label;
      tab.title.icon = ftLabIcon;
      tab.title.closable = true;
      tab.disposed.connect(() => tabs.delete(key));
      tabs.set(key, tab);
      app.shell.add(tab, 'main');
      app.shell.activateById(tab.id);
    };

    const openRecipe = async (run: IRunSummary) => {
      if (run.recipe_path !== null) {
        await app.commands.execute('docmanager:open', { path: run.recipe_path });
        return;
      }
      const text = await requestAPI<string>(`runs/${encodeURIComponent(run.id)}/recipe`, {}, 'text');
      showTab(`recipe-${run.id}`, `Recipe ${run.id}`, new TextView(text));
    };

    const openReportTab = (path: string, key: string, label: string) => {
      requestAPI<string>(path, {}, 'text')
        .then(html => showTab(key, label, new ReportView(html)))
        .catch(err => window.alert(String(err.message ?? err)));
    };

    const sidebar = new FineTuningSidebar(model, {
      openReport: run => openReportTab(`runs/${encodeURIComponent(run.id)}/report`, `report-${run.id}`, `Report ${run.id}`),
      openSearchReport: search =>
        openReportTab(
          `searches/${encodeURIComponent(search.id)}/report`,
          `search-${search.id}`,
          `Search ${search.name}`
        ),
      openFile: path => void app.commands.execute('docmanager:open', { path }),
      openRecipe: run => void openRecipe(run).catch(err => window.alert(String(err.message ?? err)))
    });
    sidebar.title.icon = ftLabIcon;
    app.shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, 'ft-lab-sidebar');
    model.start();

    app.commands.addCommand(NEW_NOTEBOOK, {
      label: args => (args.isLauncher ? 'Fine-tune a model' : 'Fine-tuning Notebook (Studio)'),
      caption: 'A new notebook with the ft-lab Studio: data, model and method, training, evaluation',
      icon: ftLabIcon,
      execute: args => newStudioNotebook(app, (args.cwd as string) ?? '')
    });
    app.commands.addCommand(OPEN_EXAMPLE, {
      label: args => (args.isLauncher ? 'Examples' : 'Open a Copy of an ft-lab Example'),
      caption: 'A copy of an ft-lab example notebook, in the current folder',
      icon: ftLabIcon,
      execute: args =>
        openExampleCopy(app, (args.cwd as string) ?? '').catch(err => window.alert(String(err.message ?? err)))
    });
    app.commands.addCommand(OPEN_SIDEBAR, {
      label: 'Show the Fine-tuning sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    launcher?.add({ command: NEW_NOTEBOOK, category: 'Fine-tuning', rank: 0, args: { isLauncher: true } });
    launcher?.add({ command: OPEN_EXAMPLE, category: 'Fine-tuning', rank: 1, args: { isLauncher: true } });
    palette?.addItem({ command: NEW_NOTEBOOK, category: 'ft-lab' });
    palette?.addItem({ command: OPEN_EXAMPLE, category: 'ft-lab' });
    palette?.addItem({ command: OPEN_SIDEBAR, category: 'ft-lab' });

    if (statusBar) {
      const item = new RunStatusItem(model);
      item.node.addEventListener('click', () => app.shell.activateById(sidebar.id));
      statusBar.registerStatusItem('ft-lab:run-status', {
        item,
        align: 'left',
        rank: 5,
        isActive: () => model.active !== null,
        activeStateChanged: model.changed
      });
    }
  }
};

export default plugin;
