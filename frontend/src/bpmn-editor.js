// The BPMN editor of the methodologist's workbench: bpmn-js Modeler with the standard properties panel,
// the spiffworkflow moddle extension and Yordam's own group (./yordam-properties.js).
//
//   const editor = await window.YordamBpmnEditor.mount(canvasElement, { xml, propertiesContainer, texts });
//   editor.warnings;                 // what the import could not understand (and saving would drop); [] normally
//   await editor.getXML();           // the diagram as BPMN XML (formatted)
//   editor.highlight(['task_id']);   // mark elements (e.g. those a lint problem names); [] clears
//   editor.on('change', fn);         // after every edit (any other name is a bpmn-js event)
//   editor.destroy();
//
// mount() rejects when the XML cannot be imported; the page then keeps its plain text editor.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

// The spiffworkflow: extension elements, typed after SpiffWorkflow's own schema (spiff/parser/schema/
// spiffworkflow.xsd) and the engine's KNOWN_EXTENSIONS. Keep every element the engine accepts listed there: once
// the namespace is known, bpmn-js drops the elements of it that are not (and reports them in editor.warnings).
import spiffworkflow from './spiffworkflow.json';
import YordamPropertiesProvider from './yordam-properties.js';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import './editors.css';

const YordamPropertiesModule = {
  __init__: [ 'yordamPropertiesProvider' ],
  yordamPropertiesProvider: [ 'type', YordamPropertiesProvider ]
};

const PROBLEM_MARKER = 'yordam-problem';

async function mount(container, { xml, propertiesContainer, texts } = {}) {
  const modeler = new BpmnModeler({
    container,
    yordam: { texts: texts || {} },  // the Yordam group's labels in the reader's language
    moddleExtensions: { spiffworkflow },
    // Without a place for the properties panel the modeler still edits the diagram, without the panel.
    ...(propertiesContainer ? {
      propertiesPanel: { parent: propertiesContainer },
      additionalModules: [ BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, YordamPropertiesModule ]
    } : {})
  });
  let imported;
  try {
    imported = await modeler.importXML(xml);
  } catch (err) {
    modeler.destroy();
    throw err;
  }
  const canvas = modeler.get('canvas');
  const registry = modeler.get('elementRegistry');
  canvas.zoom('fit-viewport');
  let marked = [];

  return {
    modeler,
    warnings: imported.warnings.map((warning) => warning.message),
    async getXML() {
      return (await modeler.saveXML({ format: true })).xml;
    },
    highlight(ids) {
      marked.forEach((id) => registry.get(id) && canvas.removeMarker(id, PROBLEM_MARKER));
      marked = (ids || []).filter((id) => registry.get(id));
      marked.forEach((id) => canvas.addMarker(id, PROBLEM_MARKER));
      return marked;  // the ids found in the diagram
    },
    on(event, fn) {
      modeler.on(event === 'change' ? 'commandStack.changed' : event, fn);
    },
    destroy() {
      modeler.destroy();
    }
  };
}

window.YordamBpmnEditor = { mount };
