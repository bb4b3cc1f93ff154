"""The web app (officer inbox, case view, dashboard, designer, JSON API). Built in a later issue."""
