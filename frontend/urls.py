"""
Routes of the browser pages (the API and the socket have their own).
"""

from __future__ import annotations

from django.urls import path, re_path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("login/", views.login_page, name="login"),
    path("signup/", views.signup_page, name="signup"),
    path("b/<str:board_id>/", views.board_page, name="board"),
    path("", views.board_list_page, name="boards"),
    # Last: every other path gets the app's 404 page (views.not_found), DEBUG or not.
    re_path(r"^.*$", views.not_found, name="not-found"),
]
