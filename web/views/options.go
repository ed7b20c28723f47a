package views

// Option is a value and label of a select.
type Option struct {
	Value string
	Label string
}
