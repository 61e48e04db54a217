from rest_framework.views import exception_handler  # placeholder replaced by the API work
