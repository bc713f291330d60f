SECRET_KEY = 'dev'
STATIC_ROOT = 'static'
INSTALLED_APPS = ['django.contrib.staticfiles']
