// make lab's one JupyterLab plugin, written by hand: no build step, no imports.
// JupyterLab loads it as a prebuilt ("federated") extension: tools/lab.py puts this
// folder on the lab's extension path, and package.json's jupyterlab._build names this
// file. A federated extension is a container on window._JUPYTERLAB with init() (the
// shared packages; this file uses none) and get("./extension") (a factory of the module
// whose default export is the plugin).
//
// Why: running a cell sets its outputs and execution count, and JupyterLab marks the
// notebook unsaved on any change to its model, so closing a kata after Run All asks
// "Save your work?". A kata is a .py file that jupytext writes from the cells' types,
// sources and metadata: outputs and execution counts never reach the file. Here a text
// notebook counts as unsaved only when that part differs from the last load or save;
// an .ipynb (or a text notebook paired with one) keeps JupyterLab's behaviour.
"use strict";
(function () {
  const NAME = "backprop-kata-lab";

  // What a save writes into a text notebook: the notebook without outputs and execution
  // counts, and without a cell's "trusted" flag (which JupyterLab sets when a cell runs;
  // nbformat strips it from every notebook it writes, as transient).
  function savedPart(model) {
    const notebook = model.toJSON();
    const cells = notebook.cells.map(({ outputs, execution_count, metadata, ...kept }) => {
      const { trusted, ...written } = metadata || {};
      return { ...kept, metadata: written };
    });
    return JSON.stringify({ metadata: notebook.metadata, cells });
  }

  // Outputs reach the disk only for an .ipynb, or a text notebook paired with one.
  function keepsOutputs(context) {
    const formats = (context.model.getMetadata("jupytext") || {}).formats || "";
    return context.path.toLowerCase().endsWith(".ipynb") || String(formats).includes("ipynb");
  }

  // A widget extension: JupyterLab calls createNew for every notebook panel it opens
  // (jupytext's "Jupytext Notebook" factory copies the "Notebook" factory's extensions).
  const outputsAreNotEdits = {
    createNew(panel, context) {
      const model = context.model;
      let saved = null; // savedPart at the last load or save; null until the file is loaded
      context.ready.then(
        () => {
          saved = savedPart(model);
        },
        () => {}, // a file that fails to load keeps JupyterLab's behaviour (and its error)
      );
      model.stateChanged.connect((_, change) => {
        if (change.name !== "dirty" || saved === null || keepsOutputs(context)) {
          return;
        }
        if (!change.newValue) {
          saved = savedPart(model); // JupyterLab marks the model clean after a load, save or revert
        } else if (savedPart(model) === saved) {
          model.dirty = false; // only outputs or execution counts changed
        }
      });
    },
  };

  const plugin = {
    id: `${NAME}:outputs-are-not-edits`,
    description: "Running the cells of a text notebook (a .py kata) does not mark it unsaved.",
    autoStart: true,
    activate(app) {
      app.docRegistry.addWidgetExtension("Notebook", outputsAreNotEdits);
    },
  };

  window._JUPYTERLAB = window._JUPYTERLAB || {};
  window._JUPYTERLAB[NAME] = {
    init: () => Promise.resolve(),
    get: (module) =>
      module === "./extension"
        ? Promise.resolve(() => ({ __esModule: true, default: plugin }))
        : Promise.reject(new Error(`${NAME} has no module ${module}`)),
  };
})();
