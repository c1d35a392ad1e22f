"""Server-rendered pages for browsing skills."""

from django.shortcuts import render

from skills import selectors


def index(request):
    skills = selectors.invocable_skills(request.user) if request.user.is_authenticated else []
    return render(request, "catalogue/index.html", {"skills": skills})
