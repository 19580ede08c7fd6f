// The form editor of the methodologist's workbench: the form-js editor (palette, canvas, properties panel).
//
//   const editor = await window.YordamFormEditor.mount(container, { schema, propertiesContainer });
//   editor.getSchema();              // the form-js JSON as an object (synchronous)
//   editor.on('change', fn);         // after every edit
//   editor.destroy();
//
// Without propertiesContainer the properties panel is drawn inside the container, beside the canvas.
// form-js writes its current schemaVersion into the exported schema; Yordam's server accepts any whole number.
import { FormEditor } from '@bpmn-io/form-js-editor';

import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import '@bpmn-io/form-js-editor/dist/assets/form-js-editor.css';
import '@bpmn-io/form-js-editor/dist/assets/properties-panel.css';
import './editors.css';

async function mount(container, { schema, propertiesContainer } = {}) {
  const editor = new FormEditor({
    container,
    ...(propertiesContainer ? { propertiesPanel: { parent: propertiesContainer } } : {})
  });
  try {
    await editor.importSchema(schema);
  } catch (err) {
    editor.destroy();
    throw err;
  }
  return {
    editor,
    getSchema() {
      return editor.getSchema();
    },
    on(event, fn) {
      editor.on(event === 'change' ? 'changed' : event, fn);
    },
    destroy() {
      editor.destroy();
    }
  };
}

window.YordamFormEditor = { mount };
