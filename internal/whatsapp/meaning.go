package whatsapp

// ErrorMeaning says in plain words what a Cloud API error code means, for reports that group
// failures by code (shared/spec/whatsapp-cloud-api.md lists them).
func ErrorMeaning(code int) string {
	switch code {
	case 0:
		return "No error code given"
	case CodeTemporary:
		return "Service temporarily unavailable"
	case CodeAPITooManyCalls, CodeRateLimitBusiness:
		return "Too many API calls (rate limit)"
	case CodePermissionDenied:
		return "Permission denied"
	case CodeInvalidParameter:
		return "Invalid parameter"
	case CodeAccessToken:
		return "Access token expired or invalid"
	case CodeThroughput:
		return "Throughput limit reached"
	case CodeSomethingWrong:
		return "Something went wrong at Meta"
	case CodeUnavailable:
		return "Service unavailable"
	case CodeParamMissing:
		return "Required parameter missing"
	case CodeParamInvalid:
		return "Parameter value not valid"
	case CodeUndeliverable:
		return "Message undeliverable (not a WhatsApp user, or old app)"
	case CodeOutsideWindow:
		return "Outside the 24-hour window: only templates may be sent"
	case CodeSpamRateLimit:
		return "Spam rate limit: too many messages rejected"
	case CodeMarketingLimit:
		return "Not delivered to keep marketing engagement healthy"
	case CodeUserStopped:
		return "Customer stopped marketing messages"
	case CodeUnsupportedType:
		return "Unsupported message type"
	case 131052, 131053:
		return "Media could not be downloaded or uploaded"
	case CodePairRateLimit:
		return "Too many messages to the same customer"
	case CodeMaintenance:
		return "Business account in maintenance"
	case CodeTemplateParams:
		return "Template parameter count mismatch"
	case CodeTemplateMissing:
		return "Template missing or not approved in that language"
	case CodeTemplateTextLong:
		return "Template text too long"
	case 132007:
		return "Template violates a policy"
	case CodeTemplateFormat:
		return "Template parameter format mismatch"
	case CodeTemplatePaused:
		return "Template paused for low quality"
	case CodeTemplateDisabled:
		return "Template disabled"
	case 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210:
		return "Permission missing"
	}
	return "Other error"
}
