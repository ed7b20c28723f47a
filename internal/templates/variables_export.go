package templates

// Variables returns the distinct keys of text's variables ("1", "2" or "first_name"), in order of
// first appearance: what a sender must give a value for (campaigns bind them to contact fields).
func Variables(text string) []string { return variablesOf(text) }
