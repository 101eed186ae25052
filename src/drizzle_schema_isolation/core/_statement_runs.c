/*
 * _statement_runs: the end of a run of whole ORDINARY statements, for the SI03 pass.
 *
 * Why: drizzle-kit files add an enum label early and never commit, so every later statement must be split to
 * look for uses of the label; runs of statements that cannot matter are skipped whole. The pure-Python
 * reference is `_ORDINARY_RUN` in statements.py (read through `_regex_ordinary_run_end`): it stays the
 * definition, and the tests compare this module with it and with the splitter. Python's regular-expression
 * engine reads those runs at about 80 MB/s, 64 statements a call; this reads them character by character at
 * over 1 GB/s, a whole run a call.
 *
 * What is accepted, statement by statement from `pos` (each must end with its `;` before `limit`, the text
 * being read as ending at `limit`, as the regex's endpos):
 *   - a head: a first word of two characters or more that is not one of FIRST_ONLY_KEY_WORDS nor CREATE, or
 *     CREATE, whitespace and a second such word other than OR, FUNCTION and PROCEDURE (psql then reads no
 *     `BEGIN ... END` function body: see `_FAST_HEAD_PATTERN`);
 *   - then, up to a `;` outside parentheses, only items whose extent the exact lexer reads the same way:
 *     runs of characters that are neither quotes, `$`, `;`, parentheses, `-`, `/`, `.` nor digits, with the
 *     digits and `$` that continue an identifier there; standard strings and quoted identifiers with doubled
 *     quotes (not after the E, B, X or U& that makes another kind); integers not glued to a name or a dot;
 *     dots not opening a number; line comments; block comments, nested as the lexer nests them; a `-` or `/`
 *     opening no comment; dollar quotes `$$` and `$tag$` (tags of at most 63 characters); parentheses, at
 *     any depth, holding the same and `;`; a `)` with no `(` open stops the run.
 *   - then whitespace and comments.
 * Anything else (escape, bit and Unicode strings, parameters, other numbers, an unterminated quote or comment,
 * the end of the text) stops the run before the statement: that statement then goes to the exact splitter,
 * which also raises the lexer's errors. Compared with the regex this has no bound on repetitions (items,
 * doubled quotes, statements, comments), reads nested comments, dollar quotes with a tag and in parentheses,
 * and parentheses deeper than three: every statement the regex accepts is accepted, and a few more that the
 * splitter reads the same way.
 *
 * C99 and Python's C API only; every read is bounded by the text's length (see `Text`).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Returned by the readers below when what starts at a position is not accepted. */
#define NO_MATCH ((Py_ssize_t)-1)
/* Longest dollar-quote delimiter read here (`$` + tag + `$`): a longer one goes to the splitter, so that the
 * search for its end stays linear in the text whatever the tag. */
#define MAX_DELIMITER 65

/* Key words that matter only as the first word of a statement: statements.py's `_FIRST_ONLY_KEY_WORDS`,
 * which the module exposes as FIRST_ONLY_KEY_WORDS so that statements.py refuses a module built from a list
 * that differs from its own. Lower case, ASCII. */
static const char *const FIRST_ONLY_KEY_WORDS[] = {
    "abort", "begin", "cluster", "commit", "discard", "end", "prepare",
    "reindex", "release", "rollback", "savepoint", "start", "vacuum",
};
#define FIRST_ONLY_COUNT (sizeof(FIRST_ONLY_KEY_WORDS) / sizeof(FIRST_ONLY_KEY_WORDS[0]))
/* Second words after CREATE that may make a function head (CREATE OR REPLACE, CREATE FUNCTION, ...). */
static const char *const FUNCTION_SECOND_WORDS[] = {"or", "function", "procedure"};
#define FUNCTION_SECOND_COUNT (sizeof(FUNCTION_SECOND_WORDS) / sizeof(FUNCTION_SECOND_WORDS[0]))

/* A text read as ending at `end` (never past the string's length): `kind` is a compile-time constant in each
 * of the three instances of `run_end` (see `ordinary_run_end`), so that reads compile to plain loads. */
typedef struct {
    int kind;
    const void *data;
    Py_ssize_t end;
} Text;

static ALWAYS_INLINE Py_UCS4 at(const Text *t, Py_ssize_t i) { return PyUnicode_READ(t->kind, t->data, i); }

/* The character at `i`, or 0 at and past the end (only compared with ASCII punctuation, never NUL). */
static ALWAYS_INLINE Py_UCS4 peek(const Text *t, Py_ssize_t i) { return i < t->end ? at(t, i) : 0; }

/* scan.l's classes, with "high bit set" read as "any non-ASCII character" (lexer.py's IDENT_START, ...). */
static ALWAYS_INLINE int is_ascii_letter(Py_UCS4 c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static ALWAYS_INLINE int is_digit(Py_UCS4 c) { return c >= '0' && c <= '9'; }
static ALWAYS_INLINE int is_ident_start(Py_UCS4 c) { return c >= 0x80 || is_ascii_letter(c) || c == '_'; }
static ALWAYS_INLINE int is_dolq_cont(Py_UCS4 c) { return is_ident_start(c) || is_digit(c); }
static ALWAYS_INLINE int is_ident_cont(Py_UCS4 c) { return is_dolq_cont(c) || c == '$'; }
static ALWAYS_INLINE int is_space(Py_UCS4 c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* statements.py's `_RUN_CHAR`: never, nor the start of, a quote, comment, dollar quote, number, `;` or
 * parenthesis. */
static ALWAYS_INLINE int is_run_char(Py_UCS4 c)
{
    switch (c) {
    case '\'': case '"': case '$': case ';': case '(': case ')': case '-': case '/': case '.':
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        return 0;
    default:
        return 1;
    }
}

/* Whether text[start:stop] is `lower` in any ASCII letter case (non-ASCII characters never are). */
static ALWAYS_INLINE int word_is(const Text *t, Py_ssize_t start, Py_ssize_t stop, const char *lower)
{
    Py_ssize_t length = (Py_ssize_t)strlen(lower);
    if (stop - start != length) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = at(t, start + i);
        if (c >= 'A' && c <= 'Z') {
            c += 'a' - 'A';
        }
        if (c != (Py_UCS4)(unsigned char)lower[i]) {
            return 0;
        }
    }
    return 1;
}

static ALWAYS_INLINE int word_in(const Text *t, Py_ssize_t start, Py_ssize_t stop, const char *const *words,
                                 size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (word_is(t, start, stop, words[i])) {
            return 1;
        }
    }
    return 0;
}

/* The end of the whole word (IDENT_START IDENT_CONT*) at `p`, if it has two characters at least. */
static ALWAYS_INLINE Py_ssize_t long_word_end(const Text *t, Py_ssize_t p)
{
    if (p >= t->end || !is_ident_start(at(t, p))) {
        return NO_MATCH;
    }
    Py_ssize_t q = p + 1;
    while (q < t->end && is_ident_cont(at(t, q))) {
        q++;
    }
    return q - p >= 2 ? q : NO_MATCH;
}

/* `_FAST_HEAD_PATTERN` and the refusal of `_FIRST_ONLY_KEY_WORDS`: where the body starts. */
static ALWAYS_INLINE Py_ssize_t head_end(const Text *t, Py_ssize_t p)
{
    Py_ssize_t first = long_word_end(t, p);
    if (first == NO_MATCH || word_in(t, p, first, FIRST_ONLY_KEY_WORDS, FIRST_ONLY_COUNT)) {
        return NO_MATCH;
    }
    if (!word_is(t, p, first, "create")) {
        return first;
    }
    Py_ssize_t q = first;
    if (q >= t->end || !is_space(at(t, q))) {
        return NO_MATCH;
    }
    while (q < t->end && is_space(at(t, q))) {
        q++;
    }
    Py_ssize_t second = long_word_end(t, q);
    if (second == NO_MATCH || word_in(t, q, second, FUNCTION_SECOND_WORDS, FUNCTION_SECOND_COUNT)) {
        return NO_MATCH;
    }
    return second;
}

/* `_RUN` from `p` (a run character): run characters, and the digits and `$` right after an identifier
 * character or after each other (they continue an identifier). */
static ALWAYS_INLINE Py_ssize_t run_end(const Text *t, Py_ssize_t p)
{
    Py_UCS4 previous = at(t, p);
    for (p++; p < t->end; p++) {
        Py_UCS4 c = at(t, p);
        if (!is_run_char(c) && !((is_digit(c) || c == '$') && is_ident_cont(previous))) {
            break;
        }
        previous = c;
    }
    return p;
}

/* After the closing quote of a body where `quote` is doubled to escape it (the lexer's
 * `doubled_quote_body_end`), from just after the opening quote. */
static ALWAYS_INLINE Py_ssize_t doubled_quote_end(const Text *t, Py_ssize_t p, Py_UCS4 quote)
{
    while (p < t->end) {
        if (at(t, p) != quote) {
            p++;
        } else if (peek(t, p + 1) == quote) {
            p += 2;
        } else {
            return p + 1;
        }
    }
    return NO_MATCH;
}

/* After the end of the (possibly nested) block comment opening at `p`, as the lexer's `block_comment_end`
 * reads it: from two characters on, each leftmost comment opener or closer counts. */
static ALWAYS_INLINE Py_ssize_t block_comment_end(const Text *t, Py_ssize_t p)
{
    Py_ssize_t depth = 1;
    p += 2;
    while (p + 1 < t->end) {
        Py_UCS4 c = at(t, p);
        if (c == '/' && at(t, p + 1) == '*') {
            depth++;
            p += 2;
        } else if (c == '*' && at(t, p + 1) == '/') {
            p += 2;
            if (--depth == 0) {
                return p;
            }
        } else {
            p++;
        }
    }
    return NO_MATCH;
}

/* The end of the line comment at `p` (at the line break, not after it). */
static ALWAYS_INLINE Py_ssize_t line_comment_end(const Text *t, Py_ssize_t p)
{
    for (p += 2; p < t->end; p++) {
        Py_UCS4 c = at(t, p);
        if (c == '\n' || c == '\r') {
            break;
        }
    }
    return p;
}

/* After the dollar quote opening at `p` (`$$` or `$tag$`, the lexer's opener), its body ending at the first
 * occurrence of the delimiter as in the lexer's `dollar_string_end`. */
static ALWAYS_INLINE Py_ssize_t dollar_quote_end(const Text *t, Py_ssize_t p)
{
    Py_ssize_t q = p + 1;
    if (q < t->end && is_ident_start(at(t, q))) {
        for (q++; q < t->end && is_dolq_cont(at(t, q)); q++) {
        }
    }
    if (q >= t->end || at(t, q) != '$') {
        return NO_MATCH;  /* a parameter ($1) or a lone $ */
    }
    Py_ssize_t length = q + 1 - p;
    if (length > MAX_DELIMITER) {
        return NO_MATCH;
    }
    for (Py_ssize_t close = q + 1; close + length <= t->end; close++) {
        if (at(t, close) != '$') {
            continue;
        }
        Py_ssize_t i = 1;
        while (i < length && at(t, close + i) == at(t, p + i)) {
            i++;
        }
        if (i == length) {
            return close + length;
        }
    }
    return NO_MATCH;
}

/* After the `;` of the statement at `p`, if it is one this module accepts (see the top of the file). */
static ALWAYS_INLINE Py_ssize_t statement_end(const Text *t, Py_ssize_t p)
{
    p = head_end(t, p);
    if (p == NO_MATCH) {
        return NO_MATCH;
    }
    Py_ssize_t depth = 0;
    while (p < t->end) {
        Py_UCS4 c = at(t, p);
        switch (c) {
        case ';':
            p++;
            if (depth == 0) {
                return p;
            }
            break;
        case '(':
            depth++;
            p++;
            break;
        case ')':
            if (depth == 0) {
                return NO_MATCH;
            }
            depth--;
            p++;
            break;
        case '\'': {
            /* p > 0: a head stands before. After E, B, X or U& the quote opens another kind of string. */
            Py_UCS4 before = at(t, p - 1);
            if (before == 'e' || before == 'E' || before == 'b' || before == 'B' || before == 'x' || before == 'X'
                || before == '&') {
                return NO_MATCH;
            }
            p = doubled_quote_end(t, p + 1, '\'');
            if (p == NO_MATCH) {
                return NO_MATCH;
            }
            break;
        }
        case '"': {
            if (at(t, p - 1) == '&') {
                return NO_MATCH;  /* U&"...": a Unicode identifier */
            }
            Py_ssize_t close = doubled_quote_end(t, p + 1, '"');
            if (close == NO_MATCH || close == p + 2) {
                return NO_MATCH;  /* unterminated, or "" (a zero-length identifier) */
            }
            p = close;
            break;
        }
        case '$':
            p = dollar_quote_end(t, p);
            if (p == NO_MATCH) {
                return NO_MATCH;
            }
            break;
        case '.':
            if (is_digit(peek(t, p + 1))) {
                return NO_MATCH;  /* .5: a number */
            }
            p++;
            break;
        case '-':
            p = peek(t, p + 1) == '-' ? line_comment_end(t, p) : p + 1;
            break;
        case '/':
            if (peek(t, p + 1) == '*') {
                p = block_comment_end(t, p);
                if (p == NO_MATCH) {
                    return NO_MATCH;
                }
            } else {
                p++;
            }
            break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9': {
            /* An integer at a token's start (digits after a name continue it, in run_end). */
            while (p < t->end && is_digit(at(t, p))) {
                p++;
            }
            Py_UCS4 after = peek(t, p);
            if (after == '.' || is_ident_cont(after)) {
                return NO_MATCH;  /* 1.5, 1e5, 1_000, 0x1F, 1abc: the lexer reads (or rejects) those */
            }
            break;
        }
        default:
            p = run_end(t, p);
            break;
        }
    }
    return NO_MATCH;  /* no `;` before the end */
}

/* The first position at or after `p` that is not whitespace or a comment; an unterminated block comment's
 * start (no statement starts there). */
static ALWAYS_INLINE Py_ssize_t trivia_end(const Text *t, Py_ssize_t p)
{
    while (p < t->end) {
        Py_UCS4 c = at(t, p);
        if (is_space(c)) {
            p++;
        } else if (c == '-' && peek(t, p + 1) == '-') {
            p = line_comment_end(t, p);
        } else if (c == '/' && peek(t, p + 1) == '*') {
            Py_ssize_t end = block_comment_end(t, p);
            if (end == NO_MATCH) {
                return p;
            }
            p = end;
        } else {
            break;
        }
    }
    return p;
}

/* After the `;` of the last statement of the run from `pos`, or `pos`. */
static ALWAYS_INLINE Py_ssize_t run_of_statements_end(const Text *t, Py_ssize_t pos)
{
    Py_ssize_t last = pos;
    Py_ssize_t p = pos;
    while (p < t->end) {
        Py_ssize_t end = statement_end(t, p);
        if (end == NO_MATCH) {
            break;
        }
        last = end;
        p = trivia_end(t, end);
    }
    return last;
}

static Py_ssize_t run_end_ucs1(const void *data, Py_ssize_t pos, Py_ssize_t end)
{
    Text t = {PyUnicode_1BYTE_KIND, data, end};
    return run_of_statements_end(&t, pos);
}

static Py_ssize_t run_end_ucs2(const void *data, Py_ssize_t pos, Py_ssize_t end)
{
    Text t = {PyUnicode_2BYTE_KIND, data, end};
    return run_of_statements_end(&t, pos);
}

static Py_ssize_t run_end_ucs4(const void *data, Py_ssize_t pos, Py_ssize_t end)
{
    Text t = {PyUnicode_4BYTE_KIND, data, end};
    return run_of_statements_end(&t, pos);
}

static Py_ssize_t clamp(Py_ssize_t value, Py_ssize_t length)
{
    return value < 0 ? 0 : value > length ? length : value;
}

PyDoc_STRVAR(ordinary_run_end_doc,
"ordinary_run_end(text, pos, limit, /)\n--\n\n"
"The end of the last ';' of the run of whole ORDINARY statements from pos that end by limit (the text read\n"
"as ending there), or pos: what statements._ORDINARY_RUN.match(text, pos, limit) finds as its group 'last',\n"
"with no bound on repetitions. pos and limit are clamped to [0, len(text)], as re clamps pos and endpos.");

static PyObject *ordinary_run_end(PyObject *module, PyObject *args)
{
    PyObject *text;
    Py_ssize_t pos, limit;
    if (!PyArg_ParseTuple(args, "Unn:ordinary_run_end", &text, &pos, &limit)) {
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
#endif
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    pos = clamp(pos, length);
    limit = clamp(limit, length);
    if (limit <= pos) {
        return PyLong_FromSsize_t(pos);
    }
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t end;
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        end = run_end_ucs1(data, pos, limit);
        break;
    case PyUnicode_2BYTE_KIND:
        end = run_end_ucs2(data, pos, limit);
        break;
    default:
        end = run_end_ucs4(data, pos, limit);
        break;
    }
    return PyLong_FromSsize_t(end);
}

static PyMethodDef methods[] = {
    {"ordinary_run_end", ordinary_run_end, METH_VARARGS, ordinary_run_end_doc},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *module)
{
    PyObject *words = PyTuple_New((Py_ssize_t)FIRST_ONLY_COUNT);
    if (words == NULL) {
        return -1;
    }
    for (size_t i = 0; i < FIRST_ONLY_COUNT; i++) {
        PyObject *word = PyUnicode_FromString(FIRST_ONLY_KEY_WORDS[i]);
        if (word == NULL) {
            Py_DECREF(words);
            return -1;
        }
        PyTuple_SET_ITEM(words, (Py_ssize_t)i, word);
    }
    int status = PyModule_AddObjectRef(module, "FIRST_ONLY_KEY_WORDS", words);
    Py_DECREF(words);
    return status;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, (void *)exec_module},
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED}, /* no state but constants: safe without the GIL (free-threaded 3.13+) */
#endif
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"The end of a run of whole ORDINARY statements (statements.py's _ORDINARY_RUN), read in C.");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_statement_runs",
    module_doc,
    0,
    methods,
    slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__statement_runs(void)
{
    return PyModuleDef_Init(&module_def);
}
