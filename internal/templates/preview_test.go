package templates

import (
	"reflect"
	"testing"
)

func TestRender(t *testing.T) {
	c := validDraft().Content
	c.Buttons = append(c.Buttons, Button{Type: ButtonPhoneNumber, Text: "Call", PhoneNumber: "+4930123456"},
		Button{Type: ButtonCopyCode, Example: "SAVE10"})

	cases := []struct {
		name string
		v    Values
		want Preview
	}{
		{
			name: "examples fill what no value is given for",
			want: Preview{
				HeaderFormat: HeaderText, Header: "Order #123",
				Body: "Hi Pablo, your order 860198 has shipped and arrives soon.", Footer: "Lucky Shrub",
				Buttons: []PreviewButton{
					{Type: ButtonQuickReply, Text: "Stop"},
					{Type: ButtonURL, Text: "Track", Target: "https://x.com/t/abc"},
					{Type: ButtonPhoneNumber, Text: "Call", Target: "+4930123456"},
					{Type: ButtonCopyCode, Text: "Copy offer code", Target: "SAVE10"},
				},
			},
		},
		{
			name: "values win over examples",
			v: Values{Header: map[string]string{"1": "#9"}, Body: map[string]string{"1": "Jessica"},
				Buttons: map[int]string{1: "zz", 3: "CODE"}},
			want: Preview{
				HeaderFormat: HeaderText, Header: "Order #9",
				Body: "Hi Jessica, your order 860198 has shipped and arrives soon.", Footer: "Lucky Shrub",
				Buttons: []PreviewButton{
					{Type: ButtonQuickReply, Text: "Stop"},
					{Type: ButtonURL, Text: "Track", Target: "https://x.com/t/zz"},
					{Type: ButtonPhoneNumber, Text: "Call", Target: "+4930123456"},
					{Type: ButtonCopyCode, Text: "Copy offer code", Target: "CODE"},
				},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Render(c, tc.v); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestRenderLeavesMissingVariablesVisible(t *testing.T) {
	c := Content{ParameterFormat: ParameterFormatNamed,
		Body: Body{Text: "Hi {{first_name}}, order {{order_id}} and {{broken", Examples: map[string]string{"first_name": "Ann"}},
		// Markup is kept as typed: escaping is the view's job.
		Footer: "<b>Shop</b>"}
	p := Render(c, Values{})
	if p.Body != "Hi Ann, order {{order_id}} and {{broken" || p.Footer != "<b>Shop</b>" || p.HeaderFormat != HeaderNone {
		t.Fatalf("got %+v", p)
	}
}
