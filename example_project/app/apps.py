from django.apps import AppConfig


class ExampleAppConfig(AppConfig):
    name = "example_project.app"
    label = "example_app"
    verbose_name = "Example workflows (from the seeds)"
