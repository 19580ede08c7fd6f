"""Every message the forms package shows, in one place.

Validation messages (shown to the person filling in a form), the renderer's own
words and definition messages (shown to the methodologist who uploads a form)
are plain English ``str.format`` templates.

What a person filling in a form reads is wrapped in :func:`N_`, an identity
marker, so ``pybabel extract -k N_ forms/`` collects it into the catalogues.
The code translates the *template* first and fills in the placeholders after
(``translate(M.TOO_LONG).format(max=500)``), so a catalogue entry is
``"Must be at most {max} characters."``, placeholders in braces.  The
methodologist's ``DEF_*`` messages stay English and are not marked.
"""


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


# --------------------------------------------------------------------------
# Validation of submitted data (FormValidationError.errors)
# --------------------------------------------------------------------------

REQUIRED = N_("This field is required.")
REQUIRED_WHEN = N_('This field is required when "{field}" is "{value}".')
UNKNOWN_FIELD = N_("Unknown field.")
RESERVED_NAME = N_("This name is reserved.")
NOT_OBJECT = N_("Must be an object.")

NOT_TEXT = N_("Must be text.")
INVALID_TEXT = N_("Contains characters that are not valid text.")
CONTROL_CHARACTERS = N_("Must not contain control characters.")
SINGLE_LINE = N_("Must be a single line.")
TOO_SHORT = N_("Must be at least {min} characters.")
TOO_LONG = N_("Must be at most {max} characters.")
PATTERN_MISMATCH = N_("Does not match the required format.")
NOT_EMAIL = N_("Not a valid email address.")

NOT_NUMBER = N_("Must be a number.")
NOT_FINITE = N_("Must be a finite number.")
NOT_INTEGER = N_("Must be a whole number.")
TOO_MANY_DECIMALS = N_("Must have at most {digits} decimal places.")
NUMBER_TOO_SMALL = N_("Must be at least {min}.")
NUMBER_TOO_LARGE = N_("Must be at most {max}.")
NUMBER_OUT_OF_RANGE = N_("Number is too large.")
NOT_A_MULTIPLE = N_("Must be a multiple of {step}.")

NOT_DATE = N_("Not a valid date; use YYYY-MM-DD.")
DATE_OUT_OF_RANGE = N_("Year must be between {min} and {max}.")

NOT_OPTION = N_("Not one of the allowed options: {options}.")
NOT_LIST = N_("Must be a list.")
DUPLICATE_CHOICE = N_("Each option may be chosen only once.")

NOT_BOOLEAN = N_("Must be true or false.")
MUST_BE_TRUE = N_("This box must be ticked.")
TICKED = N_("ticked")
NOT_TICKED = N_("not ticked")

NO_ITEMS = N_("Add at least one item.")
TOO_MANY_ITEMS = N_("Must have at most {max} items.")

# --------------------------------------------------------------------------
# The renderer's own words (forms.render)
# --------------------------------------------------------------------------

RENDER_REQUIRED = N_("(required)")
RENDER_CHOOSE = N_("— Choose —")
RENDER_ADD = N_("Add")
RENDER_REMOVE = N_("Remove")
RENDER_REMOVE_ITEM = N_("Remove item {number}")
RENDER_ITEM = N_("Item {number}")
RENDER_NO_ITEMS = N_("No items yet.")
RENDER_ERROR_SUMMARY = N_("Please correct the following:")

# --------------------------------------------------------------------------
# Form definition problems (FormDefinitionError)
# ``{where}`` is e.g. "Field 'services.provider'" or "Component 'Text_1'".
# --------------------------------------------------------------------------

DEF_INVALID_JSON = "Invalid JSON at line {line}, column {column}: {problem}."
DEF_DUPLICATE_JSON_KEY = "Invalid JSON: key '{key}' appears twice in one object."
DEF_JSON_CONSTANT = "Invalid JSON: {constant} is not allowed."
DEF_NOT_UTF8 = "Form file is not valid UTF-8."
DEF_TOO_DEEP = "Form definition is nested too deeply."
DEF_FILE_NAME = "Form file names must end in .form.json: '{name}'."
DEF_NOT_DIRECTORY = "Not a directory: '{path}'."

DEF_NOT_OBJECT = "A form definition must be a JSON object."
DEF_NO_FORM_KEY = "The form has no \"id\"; give it an id or a key."
DEF_BAD_FORM_KEY = "Form key '{key}' must be 1-100 letters, digits, '_', '-' or '.'."
DEF_FORM_TYPE = "The form's \"type\" must be \"default\", not '{type}'."
DEF_SCHEMA_VERSION = "The form's \"schemaVersion\" must be a whole number."
DEF_COMPONENTS_NOT_LIST = "{where}: \"components\" must be a list."
DEF_COMPONENT_NOT_OBJECT = "{where}: a component must be a JSON object."
DEF_NO_TYPE = "{where}: the component has no \"type\"."
DEF_UNKNOWN_TYPE = "{where}: component type '{type}' is not supported."
DEF_BAD_ID = "{where}: \"id\" must be a non-empty string."
DEF_DUPLICATE_ID = "{where}: id '{id}' is used twice."
DEF_NO_KEY = "{where}: an input component needs a \"key\"."
DEF_BAD_KEY = (
    "{where}: key '{key}' must start with a letter and contain only "
    "letters, digits and '_' (at most 64 characters)."
)
DEF_UNDERSCORE_KEY = "{where}: key '{key}' must not start with '_'."
DEF_RESERVED_KEY = "{where}: key '{key}' is reserved."
DEF_DUPLICATE_KEY = "{where}: key '{key}' is used twice at the same level."
DEF_BAD_LABEL = "{where}: \"label\" must be a string."
DEF_NO_PATH = "{where}: a dynamiclist needs a \"path\"."
DEF_NOT_REPEATING = "{where}: a dynamiclist must have \"isRepeating\": true."
DEF_EMPTY_CONTAINER = "{where}: a {type} needs at least one input field."

DEF_NO_VALUES = "{where}: a {type} needs a non-empty \"values\" list."
DEF_DYNAMIC_VALUES = (
    "{where}: options from \"{name}\" are not supported; list them in \"values\"."
)
DEF_BAD_VALUE_ENTRY = (
    "{where}: each entry of \"values\" needs a string \"value\" and a string \"label\"."
)
DEF_DUPLICATE_VALUE = "{where}: option value '{value}' appears twice."

DEF_VALIDATE_NOT_OBJECT = "{where}: \"validate\" must be an object."
DEF_VALIDATE_UNSUPPORTED = "{where}: validate.{name} is not supported for a {type}."
DEF_VALIDATE_BAD = "{where}: validate.{name} must be {expected}."
DEF_VALIDATE_ORDER = "{where}: validate.{low} is greater than validate.{high}."
DEF_BAD_PATTERN = "{where}: validate.pattern is not a valid regular expression: {problem}."
DEF_VALIDATION_TYPE = "{where}: validate.validationType '{value}' is not supported."

DEF_ONLY_DATE = "{where}: only date is supported (\"subtype\": \"date\")."
DEF_UNSUPPORTED_OPTION = "{where}: \"{name}\" is not supported."
DEF_DECIMAL_DIGITS = "{where}: \"decimalDigits\" must be a whole number from 0 to 10."
DEF_INCREMENT = "{where}: \"increment\" must be a positive number."
DEF_CONDITIONAL_REQUIRED = (
    "{where}: a required field cannot be hidden by \"conditional\"; "
    "use properties.requiredWhen instead."
)
DEF_BAD_DEFAULT = "{where}: \"defaultValue\" is not valid: {problem}"

DEF_PROPERTIES_NOT_OBJECT = "{where}: \"properties\" must be an object."
DEF_PROPERTY_NOT_STRING = "{where}: properties.{name} must be a string."
DEF_PROPERTY_WRONG_TYPE = "{where}: properties.{name} is only allowed on a {allowed}."
DEF_REQUIRED_WHEN_SYNTAX = (
    "{where}: properties.requiredWhen must look like \"other_key=value\"."
)
DEF_REQUIRED_WHEN_UNKNOWN = (
    "{where}: properties.requiredWhen refers to '{other}', "
    "which is not a field at the same level."
)
DEF_REQUIRED_WHEN_SELF = "{where}: properties.requiredWhen refers to the field itself."
DEF_REQUIRED_WHEN_TARGET = (
    "{where}: properties.requiredWhen cannot depend on '{other}', a {type}."
)
DEF_REQUIRED_WHEN_VALUE = (
    "{where}: properties.requiredWhen: '{value}' is not a possible value of '{other}'."
)
DEF_MUST_BE_TRUE_VALUE = "{where}: properties.mustBeTrue must be \"true\" or \"false\"."
DEF_MAX_ITEMS = "{where}: properties.maxItems must be a whole number from 1 to {cap}."

# --------------------------------------------------------------------------
# Translations of form texts (<form key>.i18n.json, FormTexts)
# --------------------------------------------------------------------------

DEF_TEXTS_NOT_OBJECT = (
    "Form translations must be a JSON object of language → object of English text → translation."
)
DEF_TEXTS_BAD_LANGUAGE = (
    "Form translations: unknown language {languages}; use {allowed} "
    "(English is the source and needs no entry)."
)
DEF_TEXTS_LANGUAGE_NOT_OBJECT = (
    "Form translations: \"{language}\" must be an object of English text → translation."
)
DEF_TEXTS_NOT_STRING = (
    "Form translations: \"{language}\": the translation of {text} must be a string."
)
DEF_TEXTS_UNKNOWN = (
    "Form translations: \"{language}\" translates {count} text(s) that are not in form "
    "'{form}': {texts}."
)
