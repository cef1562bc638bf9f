"""Several clients of one shared project acting at the same instant, for the tests of races on PostgreSQL."""
import threading


def at_once(clients, act) -> list:
    """Call `act(n, client)` for every client, in threads released together; close the clients; return what the
    calls returned, None left out, in no particular order."""
    results, barrier = [], threading.Barrier(len(clients))

    def run(n, client):
        barrier.wait()
        result = act(n, client)
        if result is not None:
            results.append(result)

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for client in clients:
        client.close()
    return results
