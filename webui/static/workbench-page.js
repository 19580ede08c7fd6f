// The workbench file page: mount the visual editor (from the locally built bundle) over the text form.
// Without JavaScript, or if the editor fails to load the file, the text form stays as it is and still saves.
(function () {
  "use strict";
  var form = document.getElementById("file-form");
  if (!form || !form.dataset.editor) { return; }
  var kind = form.dataset.editor;
  var text = document.getElementById("content");
  var canvas = document.getElementById("visual-editor");
  var panel = document.getElementById("properties-panel");
  var api = { bpmn: window.YordamBpmnEditor, dmn: window.YordamDmnEditor, form: window.YordamFormEditor }[kind];
  if (!api || !text || !canvas) { return; }

  var editor;
  Promise.resolve().then(function () {
    canvas.hidden = false;
    if (panel) { panel.hidden = false; }
    if (kind === "form") {
      return api.mount(canvas, { schema: JSON.parse(text.value), propertiesContainer: panel });
    }
    var texts = {};
    try { texts = JSON.parse(form.dataset.texts || "{}"); } catch (ignored) { texts = {}; }
    return api.mount(canvas, { xml: text.value, propertiesContainer: panel, texts: texts });
  }).then(function (mounted) {
    if (mounted.warnings && mounted.warnings.length) {
      // The file holds something the editor does not understand: saving from it would drop that, so the
      // text stays the editor.
      if (mounted.destroy) { mounted.destroy(); }
      throw new Error(mounted.warnings.join("; "));
    }
    editor = mounted;
    text.closest(".field").hidden = true;  // the diagram is the editor now; the text follows it on save
    var ids = Array.prototype.map.call(document.querySelectorAll("#file-problems [data-element]"),
                                       function (li) { return li.dataset.element; }).filter(Boolean);
    if (ids.length && editor.highlight) { editor.highlight(ids); }
  }).catch(function (err) {
    canvas.hidden = true;
    if (panel) { panel.hidden = true; }
    var note = document.createElement("p");
    note.className = "flash error";
    note.setAttribute("role", "alert");
    note.textContent = (err && err.message) || String(err);
    form.insertBefore(note, form.firstChild);
  });

  form.addEventListener("submit", function (event) {
    if (!editor || form.dataset.synced === "1") { return; }
    event.preventDefault();
    var read = kind === "form" ? Promise.resolve(JSON.stringify(editor.getSchema(), null, 2)) : editor.getXML();
    read.then(function (value) {
      text.value = value;
      form.dataset.synced = "1";
      form.submit();
    });
  });
}());
