package web

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/web/views"
)

// analyticsRatings is the Analytics page's ratings section for the period and number of q; nil
// when no closing was asked for a rating (the section would only show zeros).
func (s *Server) analyticsRatings(c echo.Context, q analyticsQuery) (*views.AnalyticsRatings, error) {
	r, err := s.Analytics.Ratings(c.Request().Context(), principalOf(c), q.Period, q.Filter.NumberID)
	if err != nil || r.Asked == 0 {
		return nil, err
	}
	v := &views.AnalyticsRatings{Asked: strconv.Itoa(r.Asked), Rated: strconv.Itoa(r.Rated), Average: "–"}
	if r.Rated > 0 {
		v.Average = strconv.FormatFloat(r.Average, 'f', 1, 64) + " of 5"
		for score := 5; score >= 1; score-- {
			v.Scores = append(v.Scores, views.RatingBar{Score: score, Count: r.ByScore[score], Percent: r.Share(score)})
		}
	}
	for _, a := range r.Agents {
		v.Agents = append(v.Agents, views.AgentRatingRow{Name: a.Name, Rated: a.Rated, Average: strconv.FormatFloat(a.Average, 'f', 1, 64)})
	}
	for _, cm := range r.Comments {
		v.Comments = append(v.Comments, views.RatingCommentRow{Href: "/conversations/" + strconv.FormatInt(cm.ConversationID, 10),
			Score: cm.Score, Comment: cm.Comment, Agent: cm.AgentName, When: s.viewerTime(c, cm.RatedAt)})
	}
	return v, nil
}
