"""Django integration for Longshore (``pip install 'longshore[django]'``).

- :mod:`longshore.django.mail`: ``EmailBackend``, for ``EMAIL_BACKEND`` or ``MAILERS``;
- :mod:`longshore.django.tasks`: ``LongshoreBackend``, a Django Tasks backend (``TASKS``);
- :mod:`longshore.django.urls`: the views Longshore calls (task callbacks and events);
- :mod:`longshore.django.signals`: ``tracking`` (anymail's vocabulary) and the other events;
- :mod:`longshore.django.conf`: the ``LONGSHORE`` setting; :mod:`longshore.django.checks`.

Add ``"longshore.django"`` to ``INSTALLED_APPS`` for the checks and the management commands.
"""
