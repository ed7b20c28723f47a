package templates

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Meta's limits on a template (whatsapp-cloud-api.md, "Template management"). Lengths count
// characters, not bytes.
const (
	MaxNameLength       = 512
	MaxHeaderTextLength = 60
	MaxBodyLength       = 1024
	MaxFooterLength     = 60
	MaxButtons          = 10
	MaxButtonTextLength = 25
	MaxURLButtons       = 2
	MaxPhoneButtons     = 1
	MaxCopyCodeButtons  = 1

	// Meta's copy-code sample and URL limits.
	maxCopyCodeLength = 15
	maxURLLength      = 2000
	maxExampleLength  = 200
)

// Our heuristic for Meta's unpublished rule that rejects a body with "too many variables for its
// length": at least 3 words of fixed text for every 2 variables (rounded up). Meta's own example,
// "Hi {{1}}, order {{2}} shipped.", sits exactly at the limit; a body that is mostly variables
// fails here, in the editor, instead of in a review that takes up to a day.
const (
	fixedWordsPer      = 3
	variablesPerFixedN = 2
)

func minFixedWords(variables int) int {
	return (variables*fixedWordsPer + variablesPerFixedN - 1) / variablesPerFixedN
}

var (
	// Meta's language codes: en, fil, en_US, pt_BR, zh_HK.
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)
	// E.164: a plus, a country code not starting with 0, at most 15 digits in all.
	e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// Validate checks a draft against every Meta rule Switchboard knows, so that a template fails
// here with a message its author can act on rather than at Meta a day later. An empty result
// means valid.
func Validate(d Draft) FieldErrors {
	fe := FieldErrors{}
	validateIdentity(fe, d.WABAID, d.Name, d.Language)
	validateContent(fe, d.Content)
	return fe
}

func validateIdentity(fe FieldErrors, wabaID, name, language string) {
	switch {
	case wabaID == "":
		fe.Add("waba_id", "Choose the WhatsApp Business Account the template belongs to.")
	case !isNumericID(wabaID):
		fe.Add("waba_id", "A WhatsApp Business Account id is a number, such as 102290129340398.")
	}
	switch {
	case name == "":
		fe.Add("name", "Enter a name, such as order_confirmation.")
	case utf8.RuneCountInString(name) > MaxNameLength:
		fe.Add("name", fmt.Sprintf("Use at most %d characters.", MaxNameLength))
	case !isTemplateName(name):
		fe.Add("name", "Use only lower-case letters, digits and underscores, such as order_confirmation.")
	}
	switch {
	case language == "":
		fe.Add("language", "Choose a language.")
	case !languagePattern.MatchString(language):
		fe.Add("language", "Use a language code such as en or en_US.")
	}
}

func isTemplateName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func isNumericID(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func validateContent(fe FieldErrors, c Content) {
	if !c.Category.Valid() {
		fe.Add("category", "Choose a category: marketing, utility or authentication.")
	}
	format := c.format()
	if format != ParameterFormatPositional && format != ParameterFormatNamed {
		fe.Add("parameter_format", "Choose numbered ({{1}}) or named ({{first_name}}) variables.")
		format = ParameterFormatPositional
	}
	validateHeader(fe, c.Header, format)
	validateBody(fe, c.Body, format)
	validateFooter(fe, c.Footer)
	validateButtons(fe, c.Buttons)
}

// format returns the parameter format, positional when unset as at Meta.
func (c Content) format() ParameterFormat {
	if c.ParameterFormat == "" {
		return ParameterFormatPositional
	}
	return c.ParameterFormat
}

func validateHeader(fe FieldErrors, h Header, format ParameterFormat) {
	switch h.Format {
	case "", HeaderNone:
		if h.Text != "" {
			fe.Add("header.format", "Choose a text header to show this header text.")
		}
	case HeaderText:
		validateHeaderText(fe, h, format)
	case HeaderImage, HeaderDocument, HeaderVideo:
		if h.Text != "" {
			fe.Add("header.text", "A media header has no text: remove it, or choose a text header.")
		}
		if h.MediaHandle == "" {
			fe.Add("header.media_handle", fmt.Sprintf("Upload a sample %s: Meta reviews the template with it.", strings.ToLower(string(h.Format))))
		}
	case HeaderLocation:
		fe.Add("header.format", "Location headers are not supported: choose none, text, image, document or video.")
	default:
		fe.Add("header.format", "Choose a header: none, text, image, document or video.")
	}
}

func validateHeaderText(fe FieldErrors, h Header, format ParameterFormat) {
	if strings.TrimSpace(h.Text) == "" {
		fe.Add("header.text", "Enter the header text, or choose no header.")
		return
	}
	if n := utf8.RuneCountInString(h.Text); n > MaxHeaderTextLength {
		fe.Add("header.text", fmt.Sprintf("The header can have at most %d characters; this one has %d.", MaxHeaderTextLength, n))
	}
	if strings.ContainsAny(h.Text, "\r\n") {
		fe.Add("header.text", "The header must fit on one line.")
	}
	vars, problem := scanVariables(h.Text)
	if problem != "" {
		fe.Add("header.text", problem)
		return
	}
	keys := distinctKeys(vars)
	if len(keys) > 1 || len(vars) > 1 {
		fe.Add("header.text", "The header can hold at most one variable.")
		return
	}
	if msg := checkFormat(vars, format); msg != "" {
		fe.Add("header.text", msg)
		return
	}
	if len(keys) == 1 {
		checkExample(fe, "header.example", keys[0], h.Example)
	}
}

func validateBody(fe FieldErrors, b Body, format ParameterFormat) {
	text := b.Text
	if strings.TrimSpace(text) == "" {
		fe.Add("body.text", "Enter the message text.")
		return
	}
	if n := utf8.RuneCountInString(text); n > MaxBodyLength {
		fe.Add("body.text", fmt.Sprintf("The message can have at most %d characters; this one has %d.", MaxBodyLength, n))
	}
	vars, problem := scanVariables(text)
	if problem != "" {
		fe.Add("body.text", problem)
		return
	}
	if msg := checkFormat(vars, format); msg != "" {
		fe.Add("body.text", msg)
		return
	}
	if len(vars) == 0 {
		return
	}
	trimmed := strings.TrimSpace(text)
	first, last := vars[0], vars[len(vars)-1]
	if strings.HasPrefix(trimmed, text[first.Start:first.End]) {
		fe.Add("body.text", fmt.Sprintf("The message cannot start with a variable: begin with some words before %s.", placeholder(first.Key)))
		return
	}
	if strings.HasSuffix(trimmed, text[last.Start:last.End]) {
		fe.Add("body.text", fmt.Sprintf("The message cannot end with a variable: add some words or punctuation after %s.", placeholder(last.Key)))
		return
	}
	if msg := checkAdjacent(text, vars); msg != "" {
		fe.Add("body.text", msg)
		return
	}
	keys := distinctKeys(vars)
	if words, need := fixedWords(text, vars), minFixedWords(len(keys)); words < need {
		fe.Add("body.text", fmt.Sprintf("Too many variables for this text: %d variables need at least %d words around them, and there are %d. Add words or remove variables.",
			len(keys), need, words))
	}
	for _, k := range keys {
		checkExample(fe, "body.examples."+k, k, b.Examples[k])
	}
}

// checkExample requires a sample value: Meta reviews every variable with one and rejects a
// template without.
func checkExample(fe FieldErrors, field, key, example string) {
	switch {
	case strings.TrimSpace(example) == "":
		fe.Add(field, fmt.Sprintf("Give an example for %s: Meta reviews the template with it.", placeholder(key)))
	case utf8.RuneCountInString(example) > maxExampleLength:
		fe.Add(field, fmt.Sprintf("Keep the example for %s under %d characters.", placeholder(key), maxExampleLength))
	case strings.Contains(example, "{{"):
		fe.Add(field, fmt.Sprintf("The example for %s must be a sample value, not a variable.", placeholder(key)))
	}
}

func validateFooter(fe FieldErrors, footer string) {
	if n := utf8.RuneCountInString(footer); n > MaxFooterLength {
		fe.Add("footer", fmt.Sprintf("The footer can have at most %d characters; this one has %d.", MaxFooterLength, n))
	}
	if strings.Contains(footer, "{{") || strings.Contains(footer, "}}") {
		fe.Add("footer", "The footer cannot contain variables.")
	}
}

func validateButtons(fe FieldErrors, buttons []Button) {
	if len(buttons) > MaxButtons {
		fe.Add("buttons", fmt.Sprintf("Use at most %d buttons; this template has %d.", MaxButtons, len(buttons)))
	}
	var urls, phones, codes int
	for i, b := range buttons {
		field := fmt.Sprintf("buttons.%d.", i)
		switch b.Type {
		case ButtonQuickReply:
			checkButtonText(fe, field+"text", b.Text)
		case ButtonURL:
			urls++
			checkButtonText(fe, field+"text", b.Text)
			checkButtonURL(fe, field, b)
		case ButtonPhoneNumber:
			phones++
			checkButtonText(fe, field+"text", b.Text)
			if !e164Pattern.MatchString(b.PhoneNumber) {
				fe.Add(field+"phone_number", "Enter the phone number in international format with +, such as +4930123456.")
			}
		case ButtonCopyCode:
			codes++
			switch {
			case strings.TrimSpace(b.Example) == "":
				fe.Add(field+"example", "Give a sample code, such as SUMMER25: Meta reviews the template with it.")
			case utf8.RuneCountInString(b.Example) > maxCopyCodeLength:
				fe.Add(field+"example", fmt.Sprintf("A sample code can have at most %d characters.", maxCopyCodeLength))
			}
		default:
			fe.Add(field+"type", "Choose a quick reply, URL, phone number or copy-code button.")
		}
	}
	switch {
	case urls > MaxURLButtons:
		fe.Add("buttons", fmt.Sprintf("Use at most %d URL buttons; this template has %d.", MaxURLButtons, urls))
	case phones > MaxPhoneButtons:
		fe.Add("buttons", "Use at most one phone number button.")
	case codes > MaxCopyCodeButtons:
		fe.Add("buttons", "Use at most one copy-code button.")
	}
	if i, ok := interleavedQuickReply(buttons); ok {
		fe.Add("buttons", fmt.Sprintf("Keep quick replies together: move %q next to the other quick replies, before or after the other buttons.", buttons[i].Text))
	}
}

// interleavedQuickReply finds a quick reply that is separated from the earlier quick replies by
// another kind of button. Meta shows quick replies as one group and refuses them mixed in.
func interleavedQuickReply(buttons []Button) (int, bool) {
	seenQuick, leftGroup := false, false
	for i, b := range buttons {
		if b.Type == ButtonQuickReply {
			if leftGroup {
				return i, true
			}
			seenQuick = true
			continue
		}
		if seenQuick {
			leftGroup = true
		}
	}
	return 0, false
}

func checkButtonText(fe FieldErrors, field, text string) {
	switch {
	case strings.TrimSpace(text) == "":
		fe.Add(field, "Enter the button's label.")
	case utf8.RuneCountInString(text) > MaxButtonTextLength:
		fe.Add(field, fmt.Sprintf("A button label can have at most %d characters; this one has %d.", MaxButtonTextLength, utf8.RuneCountInString(text)))
	case strings.Contains(text, "{{"):
		fe.Add(field, "A button label cannot contain variables.")
	case strings.ContainsAny(text, "\r\n"):
		fe.Add(field, "A button label must fit on one line.")
	}
}

// checkButtonURL applies Meta's URL button rules: an absolute web address with at most one
// variable, {{1}}, at its very end (Meta appends the value when sending), and an example for it.
func checkButtonURL(fe FieldErrors, field string, b Button) {
	raw := b.URL
	if raw == "" {
		fe.Add(field+"url", "Enter the web address the button opens, such as https://example.com/track.")
		return
	}
	if len(raw) > maxURLLength {
		fe.Add(field+"url", fmt.Sprintf("Use a web address of at most %d characters.", maxURLLength))
		return
	}
	vars, problem := scanVariables(raw)
	switch {
	case problem != "":
		fe.Add(field+"url", problem)
		return
	case len(vars) > 1:
		fe.Add(field+"url", "A web address can hold only one variable, at its end, such as https://example.com/track/{{1}}.")
		return
	case len(vars) == 1 && vars[0].End != len(raw):
		fe.Add(field+"url", "Put the variable at the end of the web address, such as https://example.com/track/{{1}}.")
		return
	case len(vars) == 1 && vars[0].Key != "1":
		fe.Add(field+"url", "Write the web address's variable as {{1}}, whatever the template's other variables are called.")
		return
	}
	fixed := raw
	if len(vars) == 1 {
		fixed = raw[:vars[0].Start]
	}
	u, err := url.Parse(fixed)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(fixed, " \t\r\n") {
		fe.Add(field+"url", "Enter a full web address starting with https://, such as https://example.com/track.")
		return
	}
	if len(vars) == 1 {
		checkExample(fe, field+"example", "1", b.Example)
	}
}
