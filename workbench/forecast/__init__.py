"""Revenue forecasts with prediction intervals, chosen per series by a rolling-origin backtest.

The engine behind notebook 01's forecast cells and ``workbench forecast``. For every series it

1. decides the season length from the periods (quarters: 4, months: 12);
2. backtests the candidate methods from several forecast origins near the end of the series
   (each origin sees only the data before it, so no look-ahead), scoring MASE, sMAPE and the
   coverage of the prediction intervals;
3. picks the candidate with the lowest backtest MASE — the two baselines (naive, seasonal
   naive) are candidates too, so a model is used only when it beat them on this series;
4. refits the chosen method on the whole series and forecasts ``horizon`` periods ahead with
   intervals at ``level``.

Candidates (formulas and choices: ``docs/potential.md``):

``naive``
    Last value; interval ``± z σ √h`` with σ the standard deviation of one-step changes.
``seasonal_naive``
    Value one season earlier; interval ``± z σ_s √(k + 1)``, ``k = ⌊(h − 1)/m⌋``.
``ets``
    statsmodels ``ETSModel`` with additive errors on log values (so seasonality and growth are
    multiplicative) when every value is positive, on the values otherwise. Seasonal when the
    training data hold two full seasons. With four or more seasons of data the trend
    (none or damped) and the seasonality are chosen by AICc; with less, no trend.
``sarimax``
    statsmodels ``SARIMAX`` on the same scale: a seasonal random walk with drift
    ``(0,0,0)(0,1,0)m + c`` below four seasons of data, ``(1,0,0)(0,1,1)m + c`` from four.
``sarimax_x``
    The same with the economic indicators as regressors (only when ``exog`` is given). Their
    future values are held at the last observed value (a no-change scenario) in the backtest
    as in the forecast, so the backtest cannot see the future.

Intervals are then calibrated on the backtest: the chosen method's backtest errors, as
multiples of its own interval half-widths, give a split-conformal scaling factor for the
forecast intervals (bounded to [``MIN_WIDEN``, ``MAX_WIDEN``]). Models fitted on a few dozen
points are usually over-confident; the backtest measures by how much.

Series shorter than two seasons (fewer than 8 quarters or 24 months) cannot separate a
season from noise: they get the naive method and a :class:`ShortSeriesWarning`, never an
error.
"""

from .command import ForecastInputError, read_series_csv, run_forecast_command
from .engine import (
    MAX_WIDEN,
    MIN_CALIBRATION_POINTS,
    MIN_WIDEN,
    Forecaster,
    ForecastResults,
    ShortSeriesWarning,
    forecast_series,
    mase,
    one_blas_thread,
    smape,
)
from .methods import BASELINES, METHODS, SEASON_LENGTH, format_period, parse_period
from .plots import plot_fan_chart
from .series import forecast_revenue, forecast_stage, plan_revenue_series, revenue_series

__all__ = [
    "BASELINES",
    "MAX_WIDEN",
    "METHODS",
    "MIN_CALIBRATION_POINTS",
    "MIN_WIDEN",
    "SEASON_LENGTH",
    "ForecastInputError",
    "ForecastResults",
    "Forecaster",
    "ShortSeriesWarning",
    "forecast_revenue",
    "forecast_series",
    "forecast_stage",
    "format_period",
    "mase",
    "one_blas_thread",
    "parse_period",
    "plan_revenue_series",
    "plot_fan_chart",
    "read_series_csv",
    "revenue_series",
    "run_forecast_command",
    "smape",
]
