// The DMN editor of the methodologist's workbench: dmn-js Modeler (decision requirements diagram, decision
// tables, literal expressions). Yordam's cells are Python expressions, not FEEL: they are kept as typed.
//
//   const editor = await window.YordamDmnEditor.mount(container, { xml });
//   editor.warnings;                 // what the import could not understand (and saving would drop); [] normally
//   await editor.getXML();           // the definitions as DMN XML (formatted)
//   editor.views();                  // [{id, type, name}]: 'drd', 'decisionTable', 'literalExpression'
//   editor.open('risk_level');       // show another view by element id
//   editor.on('change', fn);         // after every edit in any view
//   editor.destroy();
//
// mount() opens the first decision table (the usual Yordam file holds one) or else the diagram.
import DmnModeler from 'dmn-js/lib/Modeler';

import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression-controls.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn.css';
import './editors.css';

async function mount(container, { xml } = {}) {
  const modeler = new DmnModeler({ container });
  let imported;
  try {
    imported = await modeler.importXML(xml);
  } catch (err) {
    modeler.destroy();
    throw err;
  }
  const table = modeler.getViews().find((view) => view.type === 'decisionTable');
  if (table) {
    await modeler.open(table);
  }

  // Each view has its own command stack: listen on whichever is active, now and after a switch.
  const listeners = [];
  const attach = () => {
    const viewer = modeler.getActiveViewer();
    if (viewer && !viewer.__yordam) {
      viewer.__yordam = true;
      viewer.get('eventBus').on('commandStack.changed', (event) => listeners.forEach((fn) => fn(event)));
    }
  };
  attach();
  modeler.on('views.changed', attach);

  return {
    modeler,
    warnings: imported.warnings.map((warning) => warning.message),
    async getXML() {
      return (await modeler.saveXML({ format: true })).xml;
    },
    views() {
      return modeler.getViews().map((view) => ({
        id: view.element.id, type: view.type, name: view.element.name || view.element.id
      }));
    },
    open(id) {
      const view = modeler.getViews().find((v) => v.element.id === id);
      return view ? modeler.open(view) : Promise.reject(new Error('no view for ' + id));
    },
    on(event, fn) {
      if (event === 'change') {
        listeners.push(fn);
      } else {
        modeler.on(event, fn);
      }
    },
    destroy() {
      modeler.destroy();
    }
  };
}

window.YordamDmnEditor = { mount };
