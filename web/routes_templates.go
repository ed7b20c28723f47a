package web

// templateRoutes are the message templates pages (issue 7).
func (s *Server) templateRoutes() []route {
	return nil
}
