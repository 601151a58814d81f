"""The funnel page: one mart, see dashboards/martviews.py (VIEWS["funnel"])."""

from dashboards.martpage import page

page("funnel")
