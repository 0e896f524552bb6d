from django.apps import AppConfig


class BenchAppConfig(AppConfig):
    name = "bench.app"
    label = "bench_app"
    verbose_name = "Benchmark workflows"

    def ready(self) -> None:
        from . import cachestats

        cachestats.install()
