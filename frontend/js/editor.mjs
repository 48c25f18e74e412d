// The config editor used by the Execute page: CodeMirror 6 with YAML,
// search, history, line numbers and lint markers. Bundled by
// scripts/build-js.sh into public/assets/vendor/editor.js as the global
// `TrainyardEditor`; app/src/js/editor.rs is its only caller. It also makes
// the read-only viewer the Components page shows code in.
//
// Colours come from CSS variables (style/main.css), so the editor follows
// the app's light/dark theme without listening for changes.

import { EditorState } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, highlightSpecialChars,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import {
  syntaxHighlighting, HighlightStyle, indentOnInput, bracketMatching,
} from "@codemirror/language";
import { lintGutter, lintKeymap, setDiagnostics as setLint } from "@codemirror/lint";
import { yaml } from "@codemirror/lang-yaml";
import { python } from "@codemirror/lang-python";
import { tags as t } from "@lezer/highlight";

const highlight = HighlightStyle.define([
  { tag: [t.definition(t.propertyName), t.propertyName], color: "var(--syn-key)" },
  { tag: [t.string, t.special(t.string)], color: "var(--syn-string)" },
  { tag: [t.number, t.bool, t.null, t.atom], color: "var(--syn-number)" },
  { tag: [t.comment, t.lineComment], color: "var(--syn-comment)", fontStyle: "italic" },
  { tag: [t.keyword, t.typeName, t.labelName, t.meta], color: "var(--syn-keyword)" },
  { tag: [t.punctuation, t.separator, t.squareBracket, t.brace], color: "var(--muted)" },
  { tag: t.invalid, color: "var(--bad)" },
]);

const theme = EditorView.theme({
  "&": { color: "var(--text)", backgroundColor: "var(--surface)", fontSize: "13px" },
  "&.cm-focused": { outline: "none" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.5" },
  ".cm-content": { caretColor: "var(--text)" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--text)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection":
    { backgroundColor: "var(--selection)" },
  ".cm-gutters": { backgroundColor: "var(--surface-2)", color: "var(--muted)", border: "none" },
  ".cm-activeLine": { backgroundColor: "var(--active-line)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--active-line)", color: "var(--text)" },
  ".cm-selectionMatch": { backgroundColor: "var(--flash)" },
  ".cm-searchMatch": { backgroundColor: "var(--flash)", outline: "1px solid var(--accent)" },
  ".cm-panels": { backgroundColor: "var(--surface-2)", color: "var(--text)" },
  ".cm-panels.cm-panels-bottom": { borderTop: "1px solid var(--border)" },
  ".cm-panels.cm-panels-top": { borderBottom: "1px solid var(--border)" },
  ".cm-textfield": {
    backgroundColor: "var(--bg)", color: "var(--text)", border: "1px solid var(--border)",
  },
  ".cm-button": { backgroundImage: "none", backgroundColor: "var(--surface)", color: "var(--text)" },
  ".cm-tooltip": {
    backgroundColor: "var(--surface)", color: "var(--text)", border: "1px solid var(--border)",
  },
  ".cm-diagnostic-error": { borderLeftColor: "var(--bad)" },
  ".cm-lintRange-error": { textDecorationColor: "var(--bad)" },
});

/** Makes an editor inside `parent`. `onChange(text)` runs after every edit,
 *  `onSubmit()` on Ctrl/Cmd-Enter. Returns the view, an opaque handle. */
export function create(parent, text, onChange, onSubmit) {
  const submitKey = {
    key: "Mod-Enter",
    preventDefault: true,
    run: () => { onSubmit(); return true; },
  };
  const state = EditorState.create({
    doc: text,
    extensions: [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      history(),
      drawSelection(),
      indentOnInput(),
      bracketMatching(),
      highlightActiveLine(),
      highlightSelectionMatches(),
      syntaxHighlighting(highlight),
      yaml(),
      lintGutter(),
      theme,
      EditorState.tabSize.of(2),
      keymap.of([submitKey, indentWithTab, ...defaultKeymap, ...historyKeymap,
        ...searchKeymap, ...lintKeymap]),
      EditorView.contentAttributes.of({ "aria-label": "Experiment config (YAML)" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) onChange(update.state.doc.toString());
      }),
    ],
  });
  return new EditorView({ state, parent });
}

/** A read-only code viewer inside `parent` (the Components page): Python
 *  highlighting, line numbers, search. Returns the view, an opaque handle. */
export function createViewer(parent, text, label) {
  const state = EditorState.create({
    doc: text,
    extensions: [
      lineNumbers(),
      highlightSpecialChars(),
      drawSelection(),
      highlightSelectionMatches(),
      syntaxHighlighting(highlight),
      python(),
      theme,
      EditorState.readOnly.of(true),
      EditorView.editable.of(false),
      keymap.of([...defaultKeymap, ...searchKeymap]),
      EditorView.contentAttributes.of({ "aria-label": label }),
    ],
  });
  return new EditorView({ state, parent });
}

/** The editor's text. */
export function getValue(view) {
  return view.state.doc.toString();
}

/** Replaces the whole text (one undoable change). */
export function setValue(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

/** Shows errors as lint markers. `items` is an array of
 *  `{line, column, message}` with 1-based line/column; either may be 0 when
 *  unknown (the marker then covers the first line, or the whole line). */
export function setDiagnostics(view, items) {
  const doc = view.state.doc;
  const diagnostics = items.map(({ line, column, message }) => {
    const l = doc.line(Math.min(Math.max(line || 1, 1), doc.lines));
    let from = column > 0 ? Math.min(l.from + column - 1, l.to) : l.from;
    let to = l.to;
    if (column > 0) {
      // Mark the token at the column: up to the next space or the line end.
      const rest = doc.sliceString(from, l.to);
      const word = rest.match(/^\S+/);
      to = word ? from + word[0].length : l.to;
    }
    if (to <= from) { from = l.from; to = Math.max(l.to, l.from); }
    return { from, to, severity: "error", message };
  });
  view.dispatch(setLint(view.state, diagnostics));
}

/** Puts the cursor in the editor. */
export function focus(view) {
  view.focus();
}

/** Removes the editor from the page. */
export function destroy(view) {
  view.destroy();
}
