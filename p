
  _     ._   __/__   _ _  _  _ _/_   Recorded: 04:40:18  Samples:  4868
 /_//_/// /_\ / //_// / //_'/ //     Duration: 12.160    CPU time: 4.394
/   _/                      v5.1.3

Profile at /tmp/h12q/prof.py:60

12.1598 _UnixSelectorEventLoop.run_forever  asyncio/base_events.py:593
`- 12.1563 _UnixSelectorEventLoop._run_once  asyncio/base_events.py:1845
   |- 9.2353 EpollSelector.select  selectors.py:451
   |  `- 9.2203 epoll.poll  <built-in>
   `- 2.8758 Handle._run  asyncio/events.py:78
      `- 2.7971 main  prof.py:28
         `- 2.7775 AsyncClient.post  httpx/_client.py:1838
               [13 frames hidden]  httpx, fastapi, starlette
                  2.2166 AppBodyLimitMiddleware.__call__  fastapi/_body_limit.py:78
                  `- 2.2096 RequestIdMiddleware.__call__  serving/logs.py:46
                     `- 2.1809 MetricsMiddleware.__call__  serving/metrics.py:71
                        `- 2.1604 BodySizeLimitMiddleware.__call__  serving/limits.py:31
                           `- 2.1457 ExceptionMiddleware.__call__  starlette/middleware/exceptions.py:47
                                 [50 frames hidden]  starlette, fastapi, contextlib, anyio...

