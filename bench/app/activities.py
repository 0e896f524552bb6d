from durable_workflows import activity


@activity.defn
def bench_noop(value: int) -> int:
    return value
