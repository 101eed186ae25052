/* The finder's skips (drizzle_schema_isolation.core.finder, _Scanner.skip_fast and skip_careful) compiled.
 *
 * Why: the skip reads every character of a migration between two events, and Python's regular-expression
 * engine reads about 35 MB/s there at best, half of what `check` spends on a drizzle-kit file. The regex
 * stays the reference: this module must stop exactly where the regex skip, repeated while its group "more"
 * matches, stops (tests/test_accelerated_skip.py compares the two at every position of generated texts).
 *
 * The regex is a repeat of steps, each chosen by its first character, with nothing after the repeat that can
 * fail: a deterministic tokenizer that stops at the first position where no step matches. Steps:
 *   ";" SPACE* ("--" [^\n\r]* [\n\r] SPACE*){0,16}
 *   plain characters: ASCII except - / ' " $ ; _ and letters
 *   "-" not before "-", "/" not before "*"
 *   a quoted name: not after U&, not "", not a forbidden name, no backslash, at most 16 doubled quotes
 *   a word that is not a stop word (a forbidden name, or a keyword whose context lookahead holds)
 *   a standard string: not after E, B or X, at most 16 doubled quotes, not followed by SPACE* and one of
 *   :: -- slash-star ' = <> !=
 * Everything else (a dollar, a comment, what a step refuses) stops; the careful skip has neither the ";" step
 * nor the string step. The regex bounds its repeat at 256 steps (a memory guard of the regex engine); this
 * loop has no bound, which the caller's event handlers allow.
 *
 * The data (keywords with their contexts, forbidden names) comes from Python, from the same definitions the
 * regex is built from: make_table() is called once per set of forbidden schemas.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* The regex's {0,16}: doubled quotes in one name or string, line comments after one ";". */
#define MAX_REPEATS 16
/* Keyword lookup: open addressing, a power of two well above twice the number of keywords. */
#define KEYWORD_SLOTS 512
/* Longest keyword or next word accepted by make_table (PostgreSQL's own limit for a name is 63 bytes). */
#define MAX_WORD 63

/* Context kinds of a keyword (finder._stop_kind mirrors finder._stop_context). */
enum {
    STOP_ALWAYS = 0,      /* a plain keyword: the word alone stops */
    STOP_BEFORE_WORD = 1, /* SPACE+ one of its next words, or unsure */
    STOP_EXECUTE = 2,     /* SPACE* ', or SPACE+ ($ or a next word), or unsure */
    STOP_SHARED = 3,      /* SPACE* ( ( = <> != :: ), or SPACE+ a next word, or unsure */
};

/* Classes of ASCII characters. */
enum { CHAR_PLAIN = 1, CHAR_IDENT_START = 2, CHAR_IDENT_CONT = 4, CHAR_SPACE = 8 };
static unsigned char ascii_class[128];

static void init_ascii_class(void) {
    for (int c = 0; c < 128; c++) {
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        int digit = c >= '0' && c <= '9';
        unsigned char flags = 0;
        if (letter || c == '_') {
            flags |= CHAR_IDENT_START | CHAR_IDENT_CONT;
        } else if (digit) {
            flags |= CHAR_IDENT_CONT | CHAR_PLAIN;
        } else if (c == '$') {
            flags |= CHAR_IDENT_CONT;
        } else if (c != '-' && c != '/' && c != '\'' && c != '"' && c != ';') {
            flags |= CHAR_PLAIN;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            flags |= CHAR_SPACE;
        }
        ascii_class[c] = flags;
    }
}

/* Non-ASCII characters start and continue identifiers (scan.l's "high bit set" bytes). */
static inline int is_ident_start(Py_UCS4 c) { return c >= 128 || (ascii_class[c] & CHAR_IDENT_START); }
static inline int is_ident_cont(Py_UCS4 c) { return c >= 128 || (ascii_class[c] & CHAR_IDENT_CONT); }
static inline int is_plain(Py_UCS4 c) { return c < 128 && (ascii_class[c] & CHAR_PLAIN); }
static inline int is_space(Py_UCS4 c) { return c < 128 && (ascii_class[c] & CHAR_SPACE); }
static inline Py_UCS4 ascii_lower(Py_UCS4 c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* ---- the text ------------------------------------------------------------------------------------- */

typedef struct {
    const void *data;
    int kind;
    Py_ssize_t length;
} Text;

static inline Py_UCS4 at(const Text *text, Py_ssize_t i) { return PyUnicode_READ(text->kind, text->data, i); }

/* Whether text[i:i+2] is the two characters first, second (false near the end). */
static inline int pair_at(const Text *text, Py_ssize_t i, Py_UCS4 first, Py_UCS4 second) {
    return i + 1 < text->length && at(text, i) == first && at(text, i + 1) == second;
}

static inline Py_ssize_t skip_spaces(const Text *text, Py_ssize_t i) {
    while (i < text->length && is_space(at(text, i))) {
        i++;
    }
    return i;
}

/* The end of the run of identifier characters from i (i itself if there is none). */
static inline Py_ssize_t word_end(const Text *text, Py_ssize_t i) {
    while (i < text->length && is_ident_cont(at(text, i))) {
        i++;
    }
    return i;
}

/* ---- the table ------------------------------------------------------------------------------------ */

typedef struct {
    char *chars; /* ASCII, lower case */
    Py_ssize_t length;
} AsciiWord;

typedef struct {
    AsciiWord word;
    int kind;
    Py_ssize_t first_next; /* its next words: next_words[first_next : first_next + next_count] */
    Py_ssize_t next_count;
} Keyword;

typedef struct {
    Py_UCS4 *chars;
    Py_ssize_t length;
    int truncated; /* a name of 63 bytes: longer spellings, which PostgreSQL truncates, match too */
} Name;

typedef struct {
    PyObject_HEAD
    Keyword *keywords;
    Py_ssize_t keyword_count;
    AsciiWord *next_words;
    Py_ssize_t next_word_count;
    Py_ssize_t longest_keyword;
    int slots[KEYWORD_SLOTS]; /* index + 1 into keywords, 0 where empty */
    Name *unquoted;           /* forbidden names as unquoted words (ASCII letters of the name fold) */
    Py_ssize_t unquoted_count;
    Name *quoted; /* forbidden names as the raw content of a quoted name (doubled quotes) */
    Py_ssize_t quoted_count;
} SkipTable;

static unsigned int hash_ascii(const char *chars, Py_ssize_t length) {
    unsigned int hash = 2166136261u; /* FNV-1a */
    for (Py_ssize_t i = 0; i < length; i++) {
        hash = (hash ^ (unsigned char)chars[i]) * 16777619u;
    }
    return hash;
}

/* The keyword spelled by text[start:end] (ASCII case-insensitively), or NULL. */
static const Keyword *find_keyword(const SkipTable *table, const Text *text, Py_ssize_t start, Py_ssize_t end) {
    char folded[MAX_WORD];
    Py_ssize_t length = end - start;
    if (length > table->longest_keyword) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = at(text, start + i);
        if (c >= 128) {
            return NULL;
        }
        folded[i] = (char)ascii_lower(c);
    }
    unsigned int slot = hash_ascii(folded, length) & (KEYWORD_SLOTS - 1);
    while (table->slots[slot] != 0) {
        const Keyword *keyword = &table->keywords[table->slots[slot] - 1];
        if (keyword->word.length == length && memcmp(keyword->word.chars, folded, (size_t)length) == 0) {
            return keyword;
        }
        slot = (slot + 1) & (KEYWORD_SLOTS - 1);
    }
    return NULL;
}

/* Whether the identifier characters from start spell one of the keyword's next words, whole. */
static int next_word_at(const SkipTable *table, const Keyword *keyword, const Text *text, Py_ssize_t start) {
    Py_ssize_t length = word_end(text, start) - start;
    for (Py_ssize_t n = 0; n < keyword->next_count; n++) {
        const AsciiWord *word = &table->next_words[keyword->first_next + n];
        if (word->length != length) {
            continue;
        }
        Py_ssize_t i = 0;
        while (i < length && ascii_lower(at(text, start + i)) == (Py_UCS4)(unsigned char)word->chars[i]) {
            i++;
        }
        if (i == length) {
            return 1;
        }
    }
    return 0;
}

/* Whether the keyword ending at end stops the skip: its context lookahead (finder._stop_context) holds. */
static int keyword_stops(const SkipTable *table, const Keyword *keyword, const Text *text, Py_ssize_t end) {
    if (keyword->kind == STOP_ALWAYS) {
        return 1;
    }
    Py_ssize_t next = skip_spaces(text, end);
    /* Unsure: a comment or a quoted name after the keyword always stops (the handler decides). */
    if (pair_at(text, next, '-', '-') || pair_at(text, next, '/', '*')) {
        return 1;
    }
    if (next >= text->length) {
        return 0;
    }
    Py_UCS4 c = at(text, next);
    if (c == '"') {
        return 1;
    }
    int spaced = next > end;
    if (spaced && next_word_at(table, keyword, text, next)) {
        return 1;
    }
    if (keyword->kind == STOP_EXECUTE) {
        return c == '\'' || (spaced && c == '$');
    }
    if (keyword->kind == STOP_SHARED) {
        return c == '(' || c == '=' || pair_at(text, next, '<', '>') || pair_at(text, next, '!', '=') ||
               pair_at(text, next, ':', ':');
    }
    return 0;
}

/* Whether text[start:end], a whole word, is the forbidden name (exactly, or starting with a truncated one). */
static int unquoted_name_matches(const Name *name, const Text *text, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t length = end - start;
    if (name->truncated ? length < name->length : length != name->length) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < name->length; i++) {
        Py_UCS4 expected = name->chars[i];
        Py_UCS4 c = at(text, start + i);
        if (expected >= 'a' && expected <= 'z' ? ascii_lower(c) != expected : c != expected) {
            return 0;
        }
    }
    return 1;
}

static int is_stop_word(const SkipTable *table, const Text *text, Py_ssize_t start, Py_ssize_t end) {
    const Keyword *keyword = find_keyword(table, text, start, end);
    if (keyword != NULL && keyword_stops(table, keyword, text, end)) {
        return 1;
    }
    for (Py_ssize_t n = 0; n < table->unquoted_count; n++) {
        if (unquoted_name_matches(&table->unquoted[n], text, start, end)) {
            return 1;
        }
    }
    return 0;
}

/* Whether the content of a quoted name starting at start is a forbidden name. */
static int quoted_name_at(const SkipTable *table, const Text *text, Py_ssize_t start) {
    for (Py_ssize_t n = 0; n < table->quoted_count; n++) {
        const Name *name = &table->quoted[n];
        if (name->length > text->length - start) {
            continue;
        }
        Py_ssize_t i = 0;
        while (i < name->length && at(text, start + i) == name->chars[i]) {
            i++;
        }
        if (i < name->length) {
            continue;
        }
        /* A truncated name matches a content that starts with it and ends with a closing quote; without
         * one, the quoted step fails all the same: the prefix decides. */
        Py_ssize_t after = start + name->length;
        if (name->truncated || (after < text->length && at(text, after) == '"' && !pair_at(text, after, '"', '"'))) {
            return 1;
        }
    }
    return 0;
}

/* Each step returns where it ends, or pos where it does not apply (the skip stops there). */

static Py_ssize_t step_semicolon(const Text *text, Py_ssize_t pos) {
    Py_ssize_t end = skip_spaces(text, pos + 1);
    for (int n = 0; n < MAX_REPEATS && pair_at(text, end, '-', '-'); n++) {
        Py_ssize_t i = end + 2;
        while (i < text->length && at(text, i) != '\n' && at(text, i) != '\r') {
            i++;
        }
        if (i >= text->length) { /* a comment without a line end is not taken */
            break;
        }
        end = skip_spaces(text, i + 1);
    }
    return end;
}

static Py_ssize_t step_quoted(const SkipTable *table, const Text *text, Py_ssize_t pos) {
    if (pos >= 2 && at(text, pos - 1) == '&' && ascii_lower(at(text, pos - 2)) == 'u') {
        return pos; /* U&"...": read by the handler */
    }
    Py_ssize_t i = pos + 1;
    if ((i < text->length && at(text, i) == '"') || quoted_name_at(table, text, i)) {
        return pos;
    }
    int doubled = 0;
    for (;;) {
        while (i < text->length && at(text, i) != '"' && at(text, i) != '\\') {
            i++;
        }
        if (i >= text->length || at(text, i) == '\\') {
            return pos;
        }
        if (!pair_at(text, i, '"', '"')) {
            return i + 1;
        }
        if (++doubled > MAX_REPEATS) {
            return pos;
        }
        i += 2;
    }
}

static Py_ssize_t step_string(const Text *text, Py_ssize_t pos) {
    if (pos >= 1) {
        Py_UCS4 before = ascii_lower(at(text, pos - 1));
        if (before == 'e' || before == 'b' || before == 'x') {
            return pos; /* E'', B'', X'': read by the handler */
        }
    }
    Py_ssize_t i = pos + 1;
    int doubled = 0;
    for (;;) {
        while (i < text->length && at(text, i) != '\'') {
            i++;
        }
        if (i >= text->length) {
            return pos;
        }
        if (!pair_at(text, i, '\'', '\'')) {
            break;
        }
        if (++doubled > MAX_REPEATS) {
            return pos;
        }
        i += 2;
    }
    Py_ssize_t end = i + 1;
    Py_ssize_t next = skip_spaces(text, end);
    if (next < text->length && (at(text, next) == '\'' || at(text, next) == '=')) {
        return pos;
    }
    if (pair_at(text, next, ':', ':') || pair_at(text, next, '-', '-') || pair_at(text, next, '/', '*') ||
        pair_at(text, next, '<', '>') || pair_at(text, next, '!', '=')) {
        return pos;
    }
    return end;
}

static Py_ssize_t step_word(const SkipTable *table, const Text *text, Py_ssize_t pos) {
    Py_ssize_t end = word_end(text, pos + 1);
    return is_stop_word(table, text, pos, end) ? pos : end;
}

/* The fast skip; careful: _Scanner.skip_careful, which also stops at every ";" and "'" (for statements
 * whose strings may be code or whose end matters).
 *
 * *last is set to where the last token the skip took ends (-1 if it took only whitespace): the end of a
 * word, name, string or operator character, or just after the ";" of a ";" step whatever trivia that step
 * took after it. The finder needs it for what came before its next event (finder._Scan.last_end), which it
 * otherwise works out again by reading the region backwards (_Scan._note_skipped). */
static Py_ssize_t skip(const SkipTable *table, const Text *text, Py_ssize_t pos, int careful, Py_ssize_t *last) {
    *last = -1;
    while (pos < text->length) {
        Py_UCS4 c = at(text, pos);
        Py_ssize_t end;
        if (is_plain(c)) {
            end = pos;
            while (end < text->length && is_plain(c = at(text, end))) {
                end++;
                if (!is_space(c)) {
                    *last = end;
                }
            }
            pos = end;
            continue;
        } else if (is_ident_start(c)) {
            end = step_word(table, text, pos);
        } else {
            switch (c) {
            case ';':
                if (careful) {
                    end = pos;
                    break;
                }
                end = step_semicolon(text, pos);
                *last = pos + 1;
                pos = end;
                continue;
            case '-':
                end = pair_at(text, pos, '-', '-') ? pos : pos + 1;
                break;
            case '/':
                end = pair_at(text, pos, '/', '*') ? pos : pos + 1;
                break;
            case '"':
                end = step_quoted(table, text, pos);
                break;
            case '\'':
                end = careful ? pos : step_string(text, pos);
                break;
            default: /* "$" */
                end = pos;
            }
        }
        if (end == pos) {
            break;
        }
        *last = pos = end;
    }
    return pos;
}

/* ---- the Python type ------------------------------------------------------------------------------ */

static void free_table_data(SkipTable *table) {
    for (Py_ssize_t n = 0; n < table->keyword_count; n++) {
        PyMem_Free(table->keywords[n].word.chars);
    }
    for (Py_ssize_t n = 0; n < table->next_word_count; n++) {
        PyMem_Free(table->next_words[n].chars);
    }
    for (Py_ssize_t n = 0; n < table->unquoted_count; n++) {
        PyMem_Free(table->unquoted[n].chars);
    }
    for (Py_ssize_t n = 0; n < table->quoted_count; n++) {
        PyMem_Free(table->quoted[n].chars);
    }
    PyMem_Free(table->keywords);
    PyMem_Free(table->next_words);
    PyMem_Free(table->unquoted);
    PyMem_Free(table->quoted);
    table->keywords = NULL;
    table->next_words = NULL;
    table->unquoted = table->quoted = NULL;
    table->keyword_count = table->next_word_count = table->unquoted_count = table->quoted_count = 0;
}

static void SkipTable_dealloc(PyObject *self) {
    free_table_data((SkipTable *)self);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *skip_method(PyObject *self, PyObject *const *args, Py_ssize_t nargs, int careful, int noting) {
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "a skip takes 2 arguments (text, pos), %zd given", nargs);
        return NULL;
    }
    PyObject *string = args[0];
    if (!PyUnicode_Check(string)) {
        PyErr_SetString(PyExc_TypeError, "the text to skip in must be a str");
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(string) < 0) {
        return NULL;
    }
#endif
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Text text = {PyUnicode_DATA(string), (int)PyUnicode_KIND(string), PyUnicode_GET_LENGTH(string)};
    if (pos < 0 || pos > text.length) {
        PyErr_Format(PyExc_IndexError, "pos %zd is outside the text (0 to %zd)", pos, text.length);
        return NULL;
    }
    Py_ssize_t last;
    Py_ssize_t end = skip((const SkipTable *)self, &text, pos, careful, &last);
    if (!noting) {
        return PyLong_FromSsize_t(end);
    }
    return Py_BuildValue("(nn)", end, last);
}

static PyObject *SkipTable_skip(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return skip_method(self, args, nargs, 0, 0);
}

static PyObject *SkipTable_skip_careful(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return skip_method(self, args, nargs, 1, 0);
}

static PyObject *SkipTable_skip_noting(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return skip_method(self, args, nargs, 0, 1);
}

static PyObject *SkipTable_skip_careful_noting(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return skip_method(self, args, nargs, 1, 1);
}

static PyMethodDef SkipTable_methods[] = {
    {"skip", (PyCFunction)(void (*)(void))SkipTable_skip, METH_FASTCALL,
     "skip(text, pos) -> int: where the finder's fast skip from pos stops (see finder._Scanner)."},
    {"skip_careful", (PyCFunction)(void (*)(void))SkipTable_skip_careful, METH_FASTCALL,
     "skip_careful(text, pos) -> int: where the finder's careful skip from pos stops (see finder._Scanner)."},
    {"skip_noting", (PyCFunction)(void (*)(void))SkipTable_skip_noting, METH_FASTCALL,
     "skip_noting(text, pos) -> (end, last): skip(), and where the last token it took ends (-1: none)."},
    {"skip_careful_noting", (PyCFunction)(void (*)(void))SkipTable_skip_careful_noting, METH_FASTCALL,
     "skip_careful_noting(text, pos) -> (end, last): skip_careful(), and where its last token ends (-1: none)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SkipTableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "drizzle_schema_isolation.core._finder_skip.SkipTable",
    .tp_basicsize = sizeof(SkipTable),
    .tp_dealloc = SkipTable_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The stop words of one set of forbidden schemas, made by make_table().",
    .tp_methods = SkipTable_methods,
};

/* The items of a sequence as a new tuple holding its own references: parsing an item may run Python code
 * (__bool__, __index__) that changes a list given here, which must not free the items still to read. */
static PyObject *items_of(PyObject *sequence, const char *message) {
    PyObject *fast = PySequence_Fast(sequence, message);
    if (fast == NULL) {
        return NULL;
    }
    PyObject *items = PySequence_Tuple(fast);
    Py_DECREF(fast);
    return items;
}

/* A copy of an ASCII str, lower-cased; -1 with an exception set if it is not one of 1 to MAX_WORD chars. */
static int copy_ascii_word(PyObject *string, AsciiWord *word) {
    if (!PyUnicode_Check(string)) {
        PyErr_SetString(PyExc_TypeError, "keywords and next words must be str");
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(string) < 0) {
        return -1;
    }
#endif
    Py_ssize_t length = PyUnicode_GET_LENGTH(string);
    if (length < 1 || length > MAX_WORD || PyUnicode_KIND(string) != PyUnicode_1BYTE_KIND) {
        PyErr_Format(PyExc_ValueError, "keyword or next word %R is not 1 to %d ASCII characters", string, MAX_WORD);
        return -1;
    }
    const Py_UCS1 *chars = PyUnicode_1BYTE_DATA(string);
    word->chars = PyMem_Malloc((size_t)length);
    if (word->chars == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        if (chars[i] >= 128) {
            PyMem_Free(word->chars);
            word->chars = NULL;
            PyErr_Format(PyExc_ValueError, "keyword or next word %R is not ASCII", string);
            return -1;
        }
        word->chars[i] = (char)ascii_lower(chars[i]);
    }
    word->length = length;
    return 0;
}

/* Enter the last keyword added into the lookup slots; -1 with ValueError for a duplicate or a full table. */
static int find_keyword_slot(SkipTable *table, const Keyword *keyword) {
    unsigned int slot = hash_ascii(keyword->word.chars, keyword->word.length) & (KEYWORD_SLOTS - 1);
    for (int probes = 0; probes < KEYWORD_SLOTS / 2; probes++) {
        if (table->slots[slot] == 0) {
            table->slots[slot] = (int)table->keyword_count;
            if (keyword->word.length > table->longest_keyword) {
                table->longest_keyword = keyword->word.length;
            }
            return 0;
        }
        const Keyword *other = &table->keywords[table->slots[slot] - 1];
        if (other->word.length == keyword->word.length &&
            memcmp(other->word.chars, keyword->word.chars, (size_t)keyword->word.length) == 0) {
            PyErr_SetString(PyExc_ValueError, "a keyword is given twice");
            return -1;
        }
        slot = (slot + 1) & (KEYWORD_SLOTS - 1);
    }
    PyErr_SetString(PyExc_ValueError, "too many keywords");
    return -1;
}

static int add_keyword(SkipTable *table, PyObject *entry) {
    PyObject *word, *next;
    int kind;
    if (!PyArg_ParseTuple(entry, "UiO;keywords are (word, kind, next words)", &word, &kind, &next)) {
        return -1;
    }
    if (kind < STOP_ALWAYS || kind > STOP_SHARED) {
        PyErr_Format(PyExc_ValueError, "unknown keyword kind %d", kind);
        return -1;
    }
    Keyword *keyword = &table->keywords[table->keyword_count];
    if (copy_ascii_word(word, &keyword->word) < 0) {
        return -1;
    }
    table->keyword_count++;
    keyword->kind = kind;
    if (find_keyword_slot(table, keyword) < 0) {
        return -1;
    }
    PyObject *words = items_of(next, "next words must be a sequence");
    if (words == NULL) {
        return -1;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(words);
    size_t size = sizeof(AsciiWord) * (size_t)(table->next_word_count + count + 1);
    AsciiWord *grown = PyMem_Realloc(table->next_words, size);
    if (grown == NULL) {
        Py_DECREF(words);
        PyErr_NoMemory();
        return -1;
    }
    table->next_words = grown;
    keyword->first_next = table->next_word_count;
    keyword->next_count = 0;
    for (Py_ssize_t n = 0; n < count; n++) {
        if (copy_ascii_word(PySequence_Fast_GET_ITEM(words, n), &table->next_words[table->next_word_count]) < 0) {
            Py_DECREF(words);
            return -1;
        }
        table->next_word_count++;
        keyword->next_count++;
    }
    Py_DECREF(words);
    return 0;
}

/* A forbidden name: (str, truncated). */
static int copy_name(PyObject *entry, Name *name) {
    PyObject *string;
    int truncated;
    if (!PyArg_ParseTuple(entry, "Up;names are (name, truncated)", &string, &truncated)) {
        return -1;
    }
    Py_ssize_t length = PyUnicode_GetLength(string);
    if (length < 0) {
        return -1;
    }
    if (length == 0) {
        PyErr_SetString(PyExc_ValueError, "a forbidden name cannot be empty");
        return -1;
    }
    name->chars = PyUnicode_AsUCS4Copy(string);
    if (name->chars == NULL) {
        return -1;
    }
    name->length = length;
    name->truncated = truncated;
    return 0;
}

/* Names from a sequence of (str, truncated) into a new array; -1 with an exception set on failure. */
static int copy_names(PyObject *sequence, Name **names, Py_ssize_t *count) {
    PyObject *items = items_of(sequence, "names must be a sequence");
    if (items == NULL) {
        return -1;
    }
    Py_ssize_t size = PySequence_Fast_GET_SIZE(items);
    *names = PyMem_Calloc((size_t)size + 1, sizeof(Name));
    if (*names == NULL) {
        Py_DECREF(items);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t n = 0; n < size; n++) {
        if (copy_name(PySequence_Fast_GET_ITEM(items, n), &(*names)[n]) < 0) {
            Py_DECREF(items);
            return -1;
        }
        (*count)++;
    }
    Py_DECREF(items);
    return 0;
}

static int fill_table(SkipTable *table, PyObject *keywords, PyObject *unquoted, PyObject *quoted) {
    PyObject *entries = items_of(keywords, "keywords must be a sequence");
    if (entries == NULL) {
        return -1;
    }
    Py_ssize_t size = PySequence_Fast_GET_SIZE(entries);
    if (size >= KEYWORD_SLOTS / 2) {
        Py_DECREF(entries);
        PyErr_SetString(PyExc_ValueError, "too many keywords");
        return -1;
    }
    table->keywords = PyMem_Calloc((size_t)size + 1, sizeof(Keyword));
    if (table->keywords == NULL) {
        Py_DECREF(entries);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t n = 0; n < size; n++) {
        if (add_keyword(table, PySequence_Fast_GET_ITEM(entries, n)) < 0) {
            Py_DECREF(entries);
            return -1;
        }
    }
    Py_DECREF(entries);
    if (copy_names(unquoted, &table->unquoted, &table->unquoted_count) < 0) {
        return -1;
    }
    return copy_names(quoted, &table->quoted, &table->quoted_count);
}

static PyObject *make_table(PyObject *module, PyObject *args) {
    PyObject *keywords, *unquoted, *quoted;
    if (!PyArg_ParseTuple(args, "OOO:make_table", &keywords, &unquoted, &quoted)) {
        return NULL;
    }
    SkipTable *table = PyObject_New(SkipTable, &SkipTableType);
    if (table == NULL) {
        return NULL;
    }
    memset((char *)table + sizeof(PyObject), 0, sizeof(SkipTable) - sizeof(PyObject));
    if (fill_table(table, keywords, unquoted, quoted) < 0) {
        Py_DECREF(table);
        return NULL;
    }
    return (PyObject *)table;
}

static PyMethodDef module_methods[] = {
    {"make_table", make_table, METH_VARARGS,
     "make_table(keywords, unquoted, quoted) -> SkipTable\n\n"
     "keywords: (word, kind, next words) each, kind 0 stops always, 1 before a next word, 2 as EXECUTE,\n"
     "3 as a call or catalog column (see finder._stop_kind); unquoted, quoted: (name, truncated) each, the\n"
     "forbidden names as a word (ASCII letters folded) and as the raw content of a quoted name."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    .m_name = "drizzle_schema_isolation.core._finder_skip",
    .m_doc = "The finder's skips, compiled (the regexes _Scanner.skip_fast and skip_careful are the reference).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__finder_skip(void) {
    init_ascii_class();
    if (PyType_Ready(&SkipTableType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_definition);
#ifdef Py_GIL_DISABLED
    /* The tables are read-only once made and str is immutable: safe without the GIL (free-threaded 3.13+). */
    if (module != NULL && PyUnstable_Module_SetGIL(module, Py_MOD_GIL_NOT_USED) < 0) {
        Py_DECREF(module);
        return NULL;
    }
#endif
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&SkipTableType);
    if (PyModule_AddObject(module, "SkipTable", (PyObject *)&SkipTableType) < 0) {
        Py_DECREF(&SkipTableType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
