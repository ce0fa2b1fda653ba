/// The rule set that ships with Rekindle: every default of spec section 3. It is the single
/// source of `rules/default.yaml` (written by `rekindle rules defaults`, compared by a test).
public enum DefaultRules {
    public static let text = """
    {
      "version": "rekindle-default-1",
      "shop": {
        "mean_interval_days": 65,
        "min_mean_interval_days": 1,
        "conversion_window_days": 7,
        "channel": "email"
      },
      "families": {
        "rf": {
          "enabled": true,
          "rules": {
            "rf.new":       {"stage": "New",       "min_purchases": 1, "max_purchases": 1,    "days": 10,  "second_touch_days": 6,  "conversion_window_days": 7},
            "rf.promising": {"stage": "Promising", "min_purchases": 1, "max_purchases": 2,    "days": 25,  "second_touch_days": 10, "conversion_window_days": 7},
            "rf.wandering": {"stage": "Wandering", "min_purchases": 1, "max_purchases": 2,    "days": 51,  "second_touch_days": 12, "conversion_window_days": 12},
            "rf.dormant":   {"stage": "Dormant",   "min_purchases": 1, "max_purchases": 2,    "days": 75,  "second_touch_days": 15, "conversion_window_days": 10},
            "rf.loyal":     {"stage": "Loyal",     "min_purchases": 3, "max_purchases": null, "days": 20,  "second_touch_days": 14, "conversion_window_days": 7},
            "rf.at_risk":   {"stage": "At risk",   "min_purchases": 3, "max_purchases": null, "days": 56,  "second_touch_days": 10, "conversion_window_days": 2},
            "rf.lost":      {"stage": "Lost",      "min_purchases": 3, "max_purchases": null, "days": 113, "second_touch_days": 30, "conversion_window_days": 14}
          }
        },
        "reanimation": {
          "enabled": true,
          "gross_margin": 0.4,
          "max_margin_share": 0.5,
          "rules": {
            "reanimation.one":  {"min_purchases": 1, "max_purchases": 1,    "vip_card": "excluded",  "start_days": 66, "touches": [
              {"after_days": 0,  "channel": "sms",     "bonus_points": 100, "valid_days": 7, "conversion_window_days": 7},
              {"after_days": 14, "channel": "sms",     "bonus_points": 180, "valid_days": 7, "conversion_window_days": 7},
              {"after_days": 28, "channel": "manager", "bonus_points": null, "valid_days": null, "conversion_window_days": 14}]},
            "reanimation.few":  {"min_purchases": 2, "max_purchases": 3,    "vip_card": "excluded",  "start_days": 80, "touches": [
              {"after_days": 0,  "channel": "sms",     "bonus_points": 100, "valid_days": 7, "conversion_window_days": 7},
              {"after_days": 14, "channel": "sms",     "bonus_points": 180, "valid_days": 7, "conversion_window_days": 7},
              {"after_days": 28, "channel": "manager", "bonus_points": null, "valid_days": null, "conversion_window_days": 14}]},
            "reanimation.many": {"min_purchases": 4, "max_purchases": null, "vip_card": "qualifies", "start_days": 90, "touches": [
              {"after_days": 0,  "channel": "sms",     "bonus_points": 100, "valid_days": 7, "conversion_window_days": 7},
              {"after_days": 14, "channel": "sms",     "bonus_points": 180, "valid_days": 7, "conversion_window_days": 7},
              {"after_days": 28, "channel": "manager", "bonus_points": null, "valid_days": null, "conversion_window_days": 14}]}
          }
        },
        "stage": {
          "enabled": true,
          "at_risk_factor": 1.1,
          "lapsed_factor": 2.0,
          "rules": {
            "stage.replenish": {"kind": "rhythm",   "factor": 0.9, "min_purchases": 2},
            "stage.at_risk":   {"kind": "rhythm",   "factor": 1.1, "min_purchases": 1},
            "stage.lapsed":    {"kind": "rhythm",   "factor": 2.0, "min_purchases": 1},
            "stage.prospect":  {"kind": "prospect", "after_days": 3}
          }
        },
        "vip": {
          "enabled": true,
          "rules": {
            "vip.entered": {"min_purchases": 5, "min_total_spent": 20000, "card": true}
          }
        },
        "engagement": {
          "enabled": true,
          "cold_after_days": 30,
          "rules": {
            "engagement.cooled":   {"kind": "cooled"},
            "engagement.rewarmed": {"kind": "rewarmed"}
          }
        },
        "views": {
          "enabled": true,
          "coview_window_hours": 24,
          "max_neighbours": 0,
          "rules": {
            "view.abandoned": {"delay_minutes": 60, "window_hours": 24, "max_products": 5, "max_recommendations": 5, "reoffer_after_days": 7}
          }
        },
        "frequency": {
          "enabled": true,
          "rules": {
            "frequency.rise": {"kind": "rise", "more_than": 5, "window_days": 30, "cooldown_days": 30, "max_recommendations": 5},
            "frequency.fall": {"kind": "fall", "min_purchases": 3, "min_days": 14, "factor": 1.5}
          }
        },
        "churn": {
          "enabled": true,
          "horizon_days": 90,
          "rules": {
            "churn.risk": {"threshold": 0.66, "conversion_window_days": 14}
          }
        }
      }
    }
    """
}
