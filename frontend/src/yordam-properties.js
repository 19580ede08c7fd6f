// The "Yordam" group of the BPMN properties panel: what the engine reads from a diagram
// (workflows/README.md §9–§10), edited as fields instead of raw XML.
//
//   lane                    name = the role whose users do the lane's tasks
//   user or manual task     spiffworkflow:property formKey, stage, deadline, deadlineSource, reminder,
//                           escalation, requires_consent, consent_agency_field; spiffworkflow:preScript/postScript
//   script task             stage; the script itself (bpmn:script)
//   business rule task      stage; spiffworkflow:calledDecisionId (the DMN decision it evaluates)
//   any other task          stage
//
// An emptied field removes its property, so the file keeps only what a methodologist set.
import {
  Group, SelectEntry, TextAreaEntry, TextFieldEntry,
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

// Kept in step with engine/process/definitions.py (ROLES) and workflows/README.md §10.
const ROLES = [ 'social_worker', 'supervisor', 'center_head', 'specialist' ];

const TASK_PROPERTIES = [
  { name: 'formKey', label: 'Form key', description: 'The form shown to the user: forms/<key>.form.json' },
  { name: 'stage', label: 'Stage', description: 'identification, assessment, planning, delivery, monitoring, closure' },
  { name: 'deadline', label: 'Deadline', description: 'e.g. 5 working days · 24 hours · (monitoring_interval_days) calendar days' },
  { name: 'deadlineSource', label: 'Deadline source', description: 'The rule or law the deadline comes from', area: true },
  { name: 'reminder', label: 'Reminder', description: '80% · 50%, 80%' },
  { name: 'escalation', label: 'Escalation ladder', description: 'e.g. supervisor at deadline; center_head after 3 working days' },
  { name: 'requires_consent', label: 'Requires consent', description: 'assessment · data_sharing · referral (empty: none)' },
  { name: 'consent_agency_field', label: 'Consent agency field', description: 'A form field naming the agency' }
];
const STAGE_ONLY = TASK_PROPERTIES.filter((p) => p.name === 'stage');


// The page passes the group's texts in the reader's language ({ English text: translation }) as the modeler's
// `yordam.texts` option; a text without a translation stays English.
export default function YordamPropertiesProvider(propertiesPanel, options) {
  propertiesPanel.registerProvider(400, this);
  const texts = (options && options.texts) || {};
  this._t = (text) => texts[text] || text;
}
YordamPropertiesProvider.$inject = [ 'propertiesPanel', 'config.yordam' ];

YordamPropertiesProvider.prototype.getGroups = function(element) {
  return (groups) => {
    const entries = entriesFor(element, this._t);
    if (entries.length) {
      // Second place, right after "General", where a methodologist looks first.
      groups.splice(1, 0, { id: 'yordam', label: 'Yordam', entries, component: Group });
    }
    return groups;
  };
};


function entriesFor(element, t) {
  if (is(element, 'bpmn:Lane')) {
    return [ { id: 'yordam-role', component: RoleEntry, t, isEdited: isSelectEntryEdited } ];
  }
  if (!is(element, 'bpmn:Task')) {
    return [];
  }
  const human = is(element, 'bpmn:UserTask') || is(element, 'bpmn:ManualTask');
  const entries = (human ? TASK_PROPERTIES : STAGE_ONLY).map((property) => ({
    id: 'yordam-' + property.name,
    property: { ...property, label: t(property.label), description: t(property.description) },
    component: PropertyEntry,
    isEdited: property.area ? isTextAreaEntryEdited : isTextFieldEntryEdited
  }));
  if (human) {
    entries.push(bodyEntry('spiffworkflow:PreScript', t('Pre-script'), t('Python run when the task opens')));
    entries.push(bodyEntry('spiffworkflow:PostScript', t('Post-script'), t('Python run when the task is completed')));
  }
  if (is(element, 'bpmn:ScriptTask')) {
    entries.push({ id: 'yordam-script', component: ScriptEntry, t, isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    entries.push(bodyEntry('spiffworkflow:CalledDecisionId', t('Decision'), t('The id of the DMN decision to evaluate'),
                           true));
  }
  return entries;
}

function bodyEntry(type, label, description, single) {
  return { id: 'yordam-' + type.split(':')[1], type, label, description, single,
           component: BodyEntry, isEdited: single ? isTextFieldEntryEdited : isTextAreaEntryEdited };
}


// --- entries (preact components; the panel's entry helpers are plain functions returning markup) -----------

function PropertyEntry({ element, id, property }) {
  const services = useServices();
  const entry = property.area ? TextAreaEntry : TextFieldEntry;
  return entry({
    element, id, label: property.label, description: property.description, debounce: services.debounce,
    getValue: () => readProperty(element, property.name),
    setValue: (value) => writeProperty(element, property.name, value, services)
  });
}

function BodyEntry({ element, id, type, label, description, single }) {
  const services = useServices();
  const entry = single ? TextFieldEntry : TextAreaEntry;
  return entry({
    element, id, label, description, debounce: services.debounce, monospace: !single,
    getValue: () => (findExtension(element, type) || {}).value || '',
    setValue: (value) => writeExtension(element, type, value, services)
  });
}

function ScriptEntry({ element, id, t }) {
  const { commandStack, debounce } = useServices();
  return TextAreaEntry({
    element, id, label: t('Script'), description: t('Python, restricted (workflows/README.md)'), debounce,
    monospace: true, rows: 6,
    getValue: () => getBusinessObject(element).get('script') || '',
    setValue: (value) => commandStack.execute('element.updateModdleProperties', {
      element, moddleElement: getBusinessObject(element), properties: { script: value || undefined }
    })
  });
}

function RoleEntry({ element, id, t }) {
  const { commandStack } = useServices();
  const current = getBusinessObject(element).get('name') || '';
  return SelectEntry({
    element, id, label: t('Role'), description: t('The lane\'s name is the role that does its tasks'),
    getValue: () => getBusinessObject(element).get('name') || '',
    setValue: (value) => commandStack.execute('element.updateModdleProperties', {
      element, moddleElement: getBusinessObject(element), properties: { name: value }
    }),
    // A name that is not a role stays selectable, so opening the panel never changes the file.
    getOptions: () => [ ...new Set([ ...ROLES, current ]) ].map((role) => ({
      value: role, label: role || t('(none)')
    }))
  });
}

function useServices() {
  return {
    bpmnFactory: useService('bpmnFactory'),
    commandStack: useService('commandStack'),
    debounce: useService('debounceInput')
  };
}


// --- reading and writing spiffworkflow extension elements ---------------------------------------------------

function extensionValues(element) {
  const extensions = getBusinessObject(element).get('extensionElements');
  return (extensions && extensions.get('values')) || [];
}

function findExtension(element, type) {
  return extensionValues(element).find((value) => is(value, type));
}

function readProperty(element, name) {
  const properties = findExtension(element, 'spiffworkflow:Properties');
  const property = properties && properties.get('properties').find((p) => p.name === name);
  return (property && property.value) || '';
}

// Set, change or (for an empty value) remove one spiffworkflow:property, as one undoable command.
function writeProperty(element, name, value, { bpmnFactory, commandStack }) {
  const commands = [];
  let properties = findExtension(element, 'spiffworkflow:Properties');
  const property = properties && properties.get('properties').find((p) => p.name === name);
  if (property && value) {
    commands.push(update(element, property, { value }));
  } else if (property) {
    commands.push(update(element, properties, { properties: without(properties.get('properties'), property) }));
  } else if (value) {
    if (!properties) {
      properties = addExtension(element, 'spiffworkflow:Properties', { properties: [] }, bpmnFactory, commands);
    }
    const created = create(bpmnFactory, 'spiffworkflow:Property', { name, value }, properties);
    commands.push(update(element, properties, { properties: [ ...properties.get('properties'), created ] }));
  }
  run(commandStack, commands);
}

// Set, change or remove an extension element holding text (preScript, postScript, calledDecisionId).
function writeExtension(element, type, value, { bpmnFactory, commandStack }) {
  const commands = [];
  const existing = findExtension(element, type);
  if (existing && value) {
    commands.push(update(element, existing, { value }));
  } else if (existing) {
    const extensions = getBusinessObject(element).get('extensionElements');
    commands.push(update(element, extensions, { values: without(extensions.get('values'), existing) }));
  } else if (value) {
    addExtension(element, type, { value }, bpmnFactory, commands);
  }
  run(commandStack, commands);
}

// Queue the commands adding a new extension element (and bpmn:extensionElements if missing); return it.
function addExtension(element, type, attrs, bpmnFactory, commands) {
  const bo = getBusinessObject(element);
  let extensions = bo.get('extensionElements');
  if (!extensions) {
    extensions = create(bpmnFactory, 'bpmn:ExtensionElements', { values: [] }, bo);
    commands.push(update(element, bo, { extensionElements: extensions }));
  }
  const created = create(bpmnFactory, type, attrs, extensions);
  commands.push(update(element, extensions, { values: [ ...extensions.get('values'), created ] }));
  return created;
}

function create(bpmnFactory, type, attrs, parent) {
  const created = bpmnFactory.create(type, attrs);
  created.$parent = parent;
  return created;
}

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

function run(commandStack, commands) {
  if (commands.length) {
    commandStack.execute('properties-panel.multi-command-executor', commands);
  }
}

function without(list, item) {
  return list.filter((x) => x !== item);
}
