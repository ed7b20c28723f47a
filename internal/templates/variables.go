package templates

import (
	"fmt"
	"strings"
	"unicode"
)

// variable is one well-formed {{…}} placeholder in a text.
type variable struct {
	Key        string // "1" or "first_name"
	Start, End int    // byte offsets of "{{" and just past "}}"
}

func (v variable) positional() bool { return isPositionalKey(v.Key) }

// placeholder writes a variable the way it appears in a template.
func placeholder(key string) string { return "{{" + key + "}}" }

// isPositionalKey accepts 1, 2, … 10 (no sign, no leading zero): Meta numbers from 1.
func isPositionalKey(k string) bool {
	if k == "" || k[0] == '0' || len(k) > 3 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return false
		}
	}
	return true
}

// isNamedKey accepts first_name, order2: Meta's named parameters are lower case with
// underscores; we also require a leading letter so a name can never look like a number.
func isNamedKey(k string) bool {
	if k == "" || len(k) > 64 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// scanVariables finds the placeholders of text. It returns every well-formed one (so a preview
// can still fill them while the author types) and a message about the first malformed one.
func scanVariables(text string) (vars []variable, problem string) {
	for i := 0; i < len(text); {
		open := strings.Index(text[i:], "{{")
		if open < 0 {
			break
		}
		open += i
		closing := strings.Index(text[open+2:], "}}")
		if closing < 0 {
			if problem == "" {
				problem = "A variable is not closed: every {{ needs a matching }}."
			}
			break
		}
		end := open + 2 + closing + 2
		inner := text[open+2 : end-2]
		switch {
		case isPositionalKey(inner) || isNamedKey(inner):
			vars = append(vars, variable{Key: inner, Start: open, End: end})
		case problem != "":
		case strings.TrimSpace(inner) == "":
			problem = "A variable is empty: write {{1}} or a name such as {{first_name}}."
		case isPositionalKey(strings.TrimSpace(inner)) || isNamedKey(strings.TrimSpace(inner)):
			problem = fmt.Sprintf("Write variables without spaces: %s, not %s.",
				placeholder(strings.TrimSpace(inner)), text[open:end])
		default:
			problem = fmt.Sprintf("%s is not a valid variable: use numbers such as {{1}} or lower-case names with underscores such as {{first_name}}.",
				text[open:end])
		}
		i = end
	}
	return vars, problem
}

// distinctKeys lists the variables' keys in order of first appearance: the order in which Meta
// expects their examples and their values when sending.
func distinctKeys(vars []variable) []string {
	var keys []string
	seen := make(map[string]bool, len(vars))
	for _, v := range vars {
		if !seen[v.Key] {
			seen[v.Key] = true
			keys = append(keys, v.Key)
		}
	}
	return keys
}

// variablesOf returns the distinct keys of text's well-formed variables.
func variablesOf(text string) []string {
	vars, _ := scanVariables(text)
	return distinctKeys(vars)
}

// checkFormat applies the template's parameter format and Meta's numbering rule to the
// variables of one component: numbered variables run {{1}}, {{2}}, … in order of first
// appearance (a variable may repeat), and the two formats never mix.
func checkFormat(vars []variable, format ParameterFormat) string {
	next := 1
	seen := map[string]bool{}
	for _, v := range vars {
		if format == ParameterFormatNamed {
			if v.positional() {
				return fmt.Sprintf("This template uses named variables: replace %s with a name such as {{first_name}}, or switch the template to numbered variables.", placeholder(v.Key))
			}
			continue
		}
		if !v.positional() {
			return fmt.Sprintf("This template uses numbered variables: replace %s with {{%d}}, or switch the template to named variables.", placeholder(v.Key), next)
		}
		if seen[v.Key] {
			continue
		}
		if want := fmt.Sprint(next); v.Key != want {
			if next == 1 {
				return fmt.Sprintf("Variables must start at {{1}}: found %s first.", placeholder(v.Key))
			}
			return fmt.Sprintf("Variables must be numbered in order: found {{%d}} then %s.", next-1, placeholder(v.Key))
		}
		seen[v.Key] = true
		next++
	}
	return ""
}

// checkAdjacent applies Meta's rule that two variables may not sit side by side: with nothing
// but spaces between them a reader could not tell where one value ends.
func checkAdjacent(text string, vars []variable) string {
	for i := 1; i < len(vars); i++ {
		if strings.TrimSpace(text[vars[i-1].End:vars[i].Start]) == "" {
			return fmt.Sprintf("Put some words between %s and %s: variables cannot sit side by side.",
				placeholder(vars[i-1].Key), placeholder(vars[i].Key))
		}
	}
	return ""
}

// fixedWords counts the words of text outside its variables. A word is a run of non-space
// characters with at least one letter or digit, so punctuation alone does not count.
func fixedWords(text string, vars []variable) int {
	var b strings.Builder
	last := 0
	for _, v := range vars {
		b.WriteString(text[last:v.Start])
		b.WriteByte(' ')
		last = v.End
	}
	b.WriteString(text[last:])
	n := 0
	for _, f := range strings.Fields(b.String()) {
		if strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			n++
		}
	}
	return n
}

// fill replaces each well-formed variable of text by value(key) when it has one, and leaves the
// placeholder visible otherwise so that a preview shows what is still missing.
func fill(text string, value func(key string) (string, bool)) string {
	vars, _ := scanVariables(text)
	if len(vars) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for _, v := range vars {
		b.WriteString(text[last:v.Start])
		if s, ok := value(v.Key); ok {
			b.WriteString(s)
		} else {
			b.WriteString(text[v.Start:v.End])
		}
		last = v.End
	}
	b.WriteString(text[last:])
	return b.String()
}
